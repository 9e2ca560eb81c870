/**
 * Hover: documentation from the schema, the effective value of a key in the
 * experiment under the cursor (set, inherited or default), `extends` chains,
 * what a data source contains and, given a PreviewContext, saliency previews:
 * thumbnails of the data with its human maps on data sources and data paths, the
 * latest run's CAM overlays on an experiment's name (saliency-preview.ts).
 */
import { MarkupKind, type Hover } from 'vscode-languageserver/node';
import type { Span } from '../dsl/ast';
import { contextAt, type AtValue, type InBlock, type KeyContext } from '../dsl/cursor';
import { blockSchemaAt, callSignature, keySchemaAt, lookupOwn } from '../dsl/schema';
import { runsOf } from '../dsl/sweep';
import { applicabilityOf, keyApplies, type ExperimentModel } from '../dsl/validate';
import type { AnalyzedDocument } from './documents';
import { toRange } from './convert';
import { dataSummaryMarkdown, experimentMarkdown, sweepMarkdown } from './experiment-info';
import { dataPreviewMarkdown, runPreviewMarkdown, type PreviewContext } from './saliency-preview';
import { blockDocMarkdown, effectiveValue, expectedType, keyDocMarkdown, modelOf, valueDocs } from './schema-info';

/** Keys whose hover shows the data preview: the source and the folders it reads. */
const DATA_PREVIEW_KEYS = new Set(['data.source', 'data.images', 'data.saliency']);

export function hover(doc: AnalyzedDocument, offset: number, previews?: PreviewContext): Hover | null {
  const { analysis } = doc;
  const ctx = contextAt(analysis.file, analysis.text, offset);
  const answer = (markdown: string | undefined, range: Span): Hover | null =>
    markdown ? { contents: { kind: MarkupKind.Markdown, value: markdown }, range: toRange(doc.lines, range) } : null;
  switch (ctx.kind) {
    case 'experimentName': {
      const model = modelOf(analysis, ctx.experiment);
      if (!ctx.name || !model) return null;
      // the latest run's CAMs right under the header, where a height-limited hover shows them without scrolling
      const [header, ...rest] = experimentMarkdown(model).split('\n\n');
      const names = runsOf(model).map((r) => r.name);
      return answer(joinParts([header, preview(previews, (p) => runPreviewMarkdown(names, p)), ...rest]), ctx.name);
    }
    case 'extends': {
      const model = ctx.target ? analysis.experiments.get(ctx.target.name) : undefined;
      return ctx.target && model ? answer(experimentMarkdown(model), ctx.target) : null;
    }
    case 'key':
      return ctx.entry ? answer(keyHover(doc, ctx, previews), ctx.entry.key) : null;
    case 'value': {
      const node = ctx.node;
      if (!node) return null;
      if (node.kind === 'word') return answer(valueHover(doc, ctx, node.name, previews), node);
      if (node.kind === 'call' && ctx.onCallee) return answer(valueHover(doc, ctx, node.callee.name, previews), node.callee);
      if (node.kind === 'number') return answer(keyHoverAt(doc, ctx, previews), node);
      return null;
    }
    case 'unit':
      return answer(keyHoverAt(doc, ctx, previews), ctx.number);
    case 'string': {
      const t = expectedType(ctx);
      const range = { start: ctx.node.start, end: ctx.node.end };
      if (t?.type === 'enum') {
        const d = lookupOwn(t.values, ctx.node.value);
        return answer(d ? `**${ctx.node.value}**\n\n${d}${dataLine(doc, ctx, previews)}` : undefined, range);
      }
      return answer(keyHoverAt(doc, ctx, previews), range);
    }
    default:
      return null;
  }
}

/** The markdown of a preview, or undefined without previews; a failure becomes a one-line note, never a lost hover. */
function preview(previews: PreviewContext | undefined, build: (p: PreviewContext) => string | undefined): string | undefined {
  if (!previews) return undefined;
  try {
    return build(previews);
  } catch (e) {
    return `*(saliency preview unavailable: ${(e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200)})*`;
  }
}

function joinParts(parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => !!p).join('\n\n');
}

/** The data summary, followed by the data preview. */
function dataMarkdown(model: ExperimentModel, previews: PreviewContext | undefined): string {
  return joinParts([dataSummaryMarkdown(model.data!), preview(previews, (p) => dataPreviewMarkdown(model, p))]);
}

/** Hover on a key (or a nested block name). */
function keyHover(doc: AnalyzedDocument, ctx: KeyContext, previews: PreviewContext | undefined): string | undefined {
  const entry = ctx.entry!;
  const name = entry.key.name;
  const model = modelOf(doc.analysis, ctx.experiment);
  if (entry.kind === 'blockEntry') {
    const sub = blockSchemaAt([...ctx.blockPath, name]);
    if (!sub) return undefined;
    const blockPath = [...ctx.blockPath, name];
    const parts = [blockDocMarkdown(blockPath.join('.'), sub)];
    const values = effectiveBlockMarkdown(doc, { experiment: ctx.experiment, blockPath, block: entry.block }, model);
    if (values) parts.push(values);
    if (name === 'data' && ctx.blockPath.length === 0 && model?.data) parts.push(dataMarkdown(model, previews));
    if (sub.sweep && model?.runs) parts.push(sweepMarkdown(model.runs.map((r) => r.name)));
    return parts.join('\n\n');
  }
  return keyMarkdown(doc, ctx, name, model, previews);
}

/** The effective value of every key of a block in this experiment: set here, inherited (from which experiment) or default. */
function effectiveBlockMarkdown(doc: AnalyzedDocument, where: InBlock, model: ExperimentModel | undefined): string | undefined {
  const schema = blockSchemaAt(where.blockPath);
  if (!schema || !model) return undefined;
  const current = applicabilityOf(model);
  const rows: string[] = [];
  for (const [key, ks] of Object.entries(schema.keys)) {
    if (!keyApplies(ks, current)) continue;
    const eff = effectiveValue(doc.analysis, where, key);
    if (!eff) continue;
    const origin = eff.origin === 'inherited' ? ` *(from \`${eff.from}\`)*` : eff.origin === 'default' ? ' *(default)*' : '';
    rows.push(`- ${key} = \`${eff.text}\`${origin}`);
  }
  return rows.length ? `In \`${model.name}\`:\n\n${rows.join('\n')}` : undefined;
}

/** Hover on a value that has no documentation of its own: the key it belongs to. */
function keyHoverAt(doc: AnalyzedDocument, at: AtValue, previews: PreviewContext | undefined): string | undefined {
  return keyMarkdown(doc, at, at.key, modelOf(doc.analysis, at.experiment), previews);
}

function keyMarkdown(doc: AnalyzedDocument, where: KeyContext | AtValue, key: string, model: ExperimentModel | undefined, previews: PreviewContext | undefined): string | undefined {
  const keyPath = [...where.blockPath, key].join('.');
  // a key of a sweep block is another key's path (`sweep.guidance.alpha`: a list of its values)
  const inSweep = blockSchemaAt(where.blockPath)?.sweep !== undefined;
  const ks = inSweep ? keySchemaAt(keyPath) : lookupOwn(blockSchemaAt(where.blockPath)?.keys, key);
  if (!ks) return undefined;
  const parts = [keyDocMarkdown(keyPath, ks, model)];
  const eff = effectiveValue(doc.analysis, where, key);
  const expName = where.experiment.name?.name;
  if (eff && expName) {
    const origin = eff.origin === 'inherited' ? `inherited from \`${eff.from}\`` : eff.origin === 'default' ? 'default' : 'set here';
    parts.push(`In \`${expName}\`: \`${eff.text}\` (${origin})`);
  }
  if (model && !inSweep && where.blockPath.length <= 1 && !keyApplies(ks, applicabilityOf(model))) {
    parts.push(`⚠ Has no effect in \`${model.name}\` with its current settings.`);
  }
  if (keyPath === 'data.source' && model?.data) parts.push(dataMarkdown(model, previews));
  else if (DATA_PREVIEW_KEYS.has(keyPath) && model?.data) {
    const thumbs = preview(previews, (p) => dataPreviewMarkdown(model, p));
    if (thumbs) parts.push(thumbs);
  }
  return parts.join('\n\n');
}

/** Hover on an enum word or a call name: its documentation. */
function valueHover(doc: AnalyzedDocument, at: AtValue, word: string, previews: PreviewContext | undefined): string | undefined {
  const t = expectedType(at);
  const variant = t?.type === 'call' ? lookupOwn(t.variants, word) : undefined;
  if (variant) return `**${callSignature(word, variant)}**\n\n${variant.doc}${dataLine(doc, at, previews)}`;
  const d = lookupOwn(valueDocs(t), word);
  return d ? `**${word}** (${at.key})\n\n${d}` : undefined;
}

/** The data summary and preview, appended when hovering the value of `data.source`. */
function dataLine(doc: AnalyzedDocument, at: AtValue, previews: PreviewContext | undefined): string {
  if (at.keyPath !== 'data.source') return '';
  const model = modelOf(doc.analysis, at.experiment);
  return model?.data ? '\n\n' + dataMarkdown(model, previews) : '';
}
