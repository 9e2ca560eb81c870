/**
 * Schema questions the editor features ask about a cursor position: which type
 * is expected here, what is the effective value of a key in an experiment, and
 * how a key, a value or a type reads in markdown. Hover and completion share
 * these so a key documents itself the same way in both.
 */
import type { Experiment } from '../dsl/ast';
import type { AtValue, InBlock } from '../dsl/cursor';
import { EXPERIMENT_SCHEMA, blockSchemaAt, describeType, keySchemaAt, lookupOwn, type Applicability, type BlockSchema, type KeySchema, type ValueType } from '../dsl/schema';
import type { Analysis, ExperimentModel } from '../dsl/validate';
import { printValue } from '../dsl/values';

/** The value type expected at a value position (following call arguments and list items). */
export function expectedType(at: AtValue): ValueType | undefined {
  let t: ValueType | undefined = keySchemaAt(at.keyPath)?.type;
  for (const step of at.trail) {
    if (!t) return undefined;
    if (step.kind === 'arg') t = t.type === 'call' ? lookupOwn(t.variants, step.callee)?.args?.[step.index]?.type : undefined;
    else t = t.type === 'list' ? t.item : undefined;
  }
  return t;
}

/** The analysed model of an experiment node (undefined for unnamed or duplicate experiments). */
export function modelOf(analysis: Analysis, e: Experiment): ExperimentModel | undefined {
  const m = e.name ? analysis.experiments.get(e.name.name) : undefined;
  return m && m.node === e ? m : undefined;
}

/** True when the path names nested blocks only (`['train']`), not call options (`['train', 'optimizer', 'adam']`). */
export function isPlainBlockPath(path: readonly string[]): boolean {
  let b: BlockSchema | undefined = EXPERIMENT_SCHEMA;
  for (const seg of path) {
    b = lookupOwn(b?.blocks, seg);
    if (!b) return false;
  }
  return true;
}

export interface EffectiveValue {
  /** DSL notation: `0.5`, `"data"`, `adam { lr = 0.001 }`. */
  text: string;
  origin: 'here' | 'inherited' | 'default';
  /** The experiment that sets it, when inherited. */
  from?: string;
}

/** The value a key has in the experiment at the cursor: set here, inherited through `extends`, or the default. */
export function effectiveValue(analysis: Analysis, where: InBlock, key: string): EffectiveValue | undefined {
  const schema = lookupOwn(blockSchemaAt(where.blockPath)?.keys, key);
  if (!isPlainBlockPath(where.blockPath)) {
    // call options belong to the value they are written in, not to the experiment's settings
    const own = where.block.entries.find((e) => e.kind === 'assignment' && e.key.name === key);
    if (own?.kind === 'assignment' && own.value) return { text: printValue(own.value), origin: 'here' };
    const d = typeof schema?.default === 'string' ? schema.default : undefined;
    return d === undefined ? undefined : { text: d, origin: 'default' };
  }
  const model = modelOf(analysis, where.experiment);
  if (!model) return undefined;
  const keyPath = [...where.blockPath, key].join('.');
  const setting = model.settings.get(keyPath);
  if (setting?.entry.value) {
    const inherited = setting.from !== model.node;
    return { text: printValue(setting.entry.value), origin: inherited ? 'inherited' : 'here', from: inherited ? setting.from.name?.name : undefined };
  }
  const d = schema ? defaultOf(schema, model) : undefined;
  return d === undefined ? undefined : { text: d, origin: 'default' };
}

/** The default of a key in DSL notation, resolved against an experiment when it depends on other settings. */
export function defaultOf(schema: KeySchema, model?: ExperimentModel): string | undefined {
  if (typeof schema.default === 'string') return schema.default;
  if (typeof schema.default === 'function' && model) return schema.default(model.lookup);
  return undefined;
}

export function appliesToText(a: Applicability | undefined): string | undefined {
  if (!a) return undefined;
  const parts = Object.entries(a).map(([dim, values]) => `${dim} ${(values as readonly string[]).map((v) => '`' + v + '`').join(' | ')}`);
  return parts.length ? parts.join('; ') : undefined;
}

/** The unit a number of this type is written with, if any. */
export function unitText(t: ValueType): string | undefined {
  if (t.type === 'int' && t.unit) return t.unit;
  if (t.type === 'percent') return '%';
  if (t.type === 'duration') return t.units.join(' or ');
  return undefined;
}

/** Markdown documentation of a key, without experiment-specific parts. */
export function keyDocMarkdown(keyPath: string, schema: KeySchema, model?: ExperimentModel): string {
  const lines = [`**${keyPath}** — ${describeType(schema.type)}${schema.required ? ' *(required)*' : ''}`, '', schema.doc];
  const facts: string[] = [];
  const d = defaultOf(schema, model);
  if (d !== undefined || schema.defaultDoc) {
    facts.push(`Default: ${d !== undefined ? '`' + d + '`' : ''}${schema.defaultDoc ? `${d !== undefined ? ' ' : ''}(${schema.defaultDoc})` : ''}`);
  }
  const unit = unitText(schema.type);
  if (unit) facts.push(`Unit: ${unit}`);
  const applies = appliesToText(schema.appliesTo);
  if (applies) facts.push(`Applies to: ${applies}`);
  if (facts.length) lines.push('', ...facts.map((f) => `- ${f}`));
  return lines.join('\n');
}

/** Markdown documentation of a nested block: its doc and its keys. */
export function blockDocMarkdown(name: string, schema: BlockSchema): string {
  // a sweep block's keys are the other keys' paths (dsl/sweep.ts); its doc says so
  if (schema.sweep) return [`**${name}** { … }`, '', schema.doc].join('\n');
  const keys = [...Object.keys(schema.keys), ...Object.keys(schema.blocks ?? {}).map((b) => `${b} { … }`)];
  return [`**${name}** { … }`, '', schema.doc, '', `Keys: ${keys.map((k) => '`' + k + '`').join(', ')}`].join('\n');
}

/** The documented values of an enum-like type (enum values, call variants, booleans). */
export function valueDocs(t: ValueType | undefined): Record<string, string> {
  if (!t) return {};
  if (t.type === 'enum') return t.values;
  if (t.type === 'call') return Object.fromEntries(Object.entries(t.variants).map(([k, v]) => [k, v.doc]));
  if (t.type === 'bool') return { true: 'Yes.', false: 'No.' };
  if (t.type === 'list') return valueDocs(t.item);
  return {};
}
