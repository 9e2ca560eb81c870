/** Markdown summaries of an experiment and of its data, for hover and completion. */
import type { DataSummary, ExperimentModel } from '../dsl/validate';
import { keySchemaAt } from '../dsl/schema';
import { printValue } from '../dsl/values';
import { defaultOf } from './schema-info';

/** The settings that say most about an experiment, in reading order. */
const SUMMARY_KEYS = ['data.source', 'model.arch', 'guidance.loss', 'guidance.attribution', 'train.epochs', 'train.batch', 'train.optimizer', 'train.engine'];

export function experimentMarkdown(model: ExperimentModel): string {
  const chain = model.chain.map((e) => e.name?.name ?? '?');
  const header = `**experiment ${model.name}**${chain.length > 1 ? ` extends \`${chain[1]}\`` : ''}`;
  const lines = [header];
  if (chain.length > 1) lines.push('', `Chain: ${chain.map((n) => '`' + n + '`').join(' → ')}`);
  const description = model.settings.get('description')?.entry.value;
  if (description?.kind === 'string') lines.push('', description.value);
  const rows: string[] = [];
  for (const key of SUMMARY_KEYS) {
    const schema = keySchemaAt(key);
    if (!schema) continue;
    if (key === 'guidance.attribution' && ['none', 'rrr'].includes(model.lookup('guidance.loss') ?? 'none')) continue;
    const setting = model.settings.get(key);
    const text = setting?.entry.value ? printValue(setting.entry.value) : defaultOf(schema, model);
    if (text === undefined) continue;
    const origin = setting && setting.from !== model.node ? ` *(from ${setting.from.name?.name ?? '?'})*` : !setting ? ' *(default)*' : '';
    rows.push(`- ${key} = \`${text}\`${origin}`);
  }
  if (rows.length) lines.push('', ...rows);
  if (model.runs) lines.push('', sweepMarkdown(model.runs.map((r) => r.name)));
  if (model.data) lines.push('', dataSummaryMarkdown(model.data));
  return lines.join('\n');
}

/** `**Sweep:** 6 runs — `m@seed=1`, …` (dsl/sweep.ts); the first runs only when there are many. */
export function sweepMarkdown(runs: readonly string[]): string {
  if (runs.length === 0) return '**Sweep:** no runs until its errors are fixed';
  const shown = runs.slice(0, MAX_RUNS_SHOWN).map((n) => '`' + n + '`');
  return `**Sweep:** ${runs.length} run${runs.length === 1 ? '' : 's'} — ${shown.join(', ')}${runs.length > MAX_RUNS_SHOWN ? `, … (${runs.length - MAX_RUNS_SHOWN} more)` : ''}`;
}

/** Runs of a sweep named in a hover; the rest are counted. */
const MAX_RUNS_SHOWN = 8;

export function dataSummaryMarkdown(d: DataSummary): string {
  const pct = d.images > 0 ? ` (${+((100 * d.annotatedImages) / d.images).toFixed(1)}%)` : '';
  const parts = [`${d.images} images`, `${d.annotatedImages} annotated${pct}`];
  if (d.classes !== undefined) parts.push(`${d.classes} classes`);
  return `**Data:** ${parts.join(', ')}${d.root ? ` — \`${d.root}\`` : d.kind === 'builtin' ? ' (built-in)' : ''}`;
}
