/**
 * Completion: what can be written at the cursor, derived from the schema.
 * Keys not yet set in the block, nested blocks, enum values, call variants,
 * booleans, units after a number, experiment names after `extends`, and file
 * and folder names inside path strings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CompletionItemKind,
  CompletionTriggerKind,
  InsertTextFormat,
  MarkupKind,
  type CompletionContext,
  type CompletionItem,
  type Command,
} from 'vscode-languageserver/node';
import type { Span } from '../dsl/ast';
import { contextAt, type AtValue, type KeyContext, type StringContext, type UnitContext, type ValueContext } from '../dsl/cursor';
import { allKeyPaths, blockSchemaAt, callSignature, describeType, keySchemaAt, lookupOwn, type CallArg, type CallVariant, type KeySchema, type ValueType } from '../dsl/schema';
import { applicabilityOf, keyApplies } from '../dsl/validate';
import type { AnalyzedDocument } from './documents';
import { toRange } from './convert';
import { experimentMarkdown } from './experiment-info';
import { blockDocMarkdown, defaultOf, expectedType, keyDocMarkdown, modelOf } from './schema-info';

export const COMPLETION_TRIGGERS = ['=', ' ', '"', '/'];

/** Asks the editor to show completions again, e.g. after a folder name was inserted. */
const RETRIGGER: Command = { title: 'Suggest', command: 'editor.action.triggerSuggest' };

export function completions(doc: AnalyzedDocument, offset: number, context?: CompletionContext): CompletionItem[] {
  const { analysis } = doc;
  const ctx = contextAt(analysis.file, analysis.text, offset);
  const trigger = context?.triggerKind === CompletionTriggerKind.TriggerCharacter ? context.triggerCharacter : undefined;
  // trigger characters only open the list where they introduce something: a value, a unit, a path
  if (trigger === ' ' && !['value', 'unit', 'extends'].includes(ctx.kind)) return [];
  if ((trigger === '"' || trigger === '/') && ctx.kind !== 'string') return [];
  if (trigger === '=' && ctx.kind !== 'value') return [];
  const b = new ItemBuilder(doc);
  switch (ctx.kind) {
    case 'key':
      return b.keys(ctx);
    case 'value':
      return b.values(ctx);
    case 'unit':
      return b.units(ctx, trigger === ' ');
    case 'string':
      return b.strings(ctx);
    case 'extends': {
      const self = ctx.experiment.name?.name;
      const items: CompletionItem[] = [];
      for (const [name, model] of analysis.experiments) {
        // an experiment cannot extend itself or one that already extends it
        if (name === self || model.chain.some((e) => e === ctx.experiment)) continue;
        items.push(b.item(name, CompletionItemKind.Class, ctx.range, name, { documentation: experimentMarkdown(model) }));
      }
      return items;
    }
    case 'afterName':
      return [b.item('extends', CompletionItemKind.Keyword, ctx.range, 'extends ', { detail: 'inherit the settings of another experiment' })];
    case 'topLevel': {
      const items = [b.item('experiment', CompletionItemKind.Snippet, ctx.range, 'experiment ${1:name} {\n\t$0\n}', { detail: 'a new experiment', snippet: true })];
      const names = [...analysis.experiments.keys()];
      if (names.length) {
        items.push(
          b.item('experiment … extends', CompletionItemKind.Snippet, ctx.range, `experiment \${1:name} extends \${2|${names.join(',')}|} {\n\t$0\n}`, {
            detail: 'a new experiment based on another',
            snippet: true,
            filterText: 'experiment',
          }),
        );
      }
      return items;
    }
    default:
      return [];
  }
}

interface ItemOptions {
  detail?: string;
  documentation?: string;
  snippet?: boolean;
  sortText?: string;
  filterText?: string;
  command?: Command;
}

class ItemBuilder {
  constructor(private readonly doc: AnalyzedDocument) {}

  item(label: string, kind: CompletionItemKind, range: Span, newText: string, o: ItemOptions = {}): CompletionItem {
    const item: CompletionItem = { label, kind, textEdit: { range: toRange(this.doc.lines, range), newText } };
    if (o.snippet) item.insertTextFormat = InsertTextFormat.Snippet;
    if (o.detail) item.detail = o.detail;
    if (o.documentation) item.documentation = { kind: MarkupKind.Markdown, value: o.documentation };
    if (o.sortText) item.sortText = o.sortText;
    if (o.filterText) item.filterText = o.filterText;
    if (o.command) item.command = o.command;
    return item;
  }

  // ---- keys ------------------------------------------------------------------------------

  keys(ctx: KeyContext): CompletionItem[] {
    const schema = blockSchemaAt(ctx.blockPath);
    if (!schema) return [];
    const text = this.doc.analysis.text;
    const present = new Set(ctx.block.entries.filter((e) => e !== ctx.entry).map((e) => e.key.name));
    if (schema.sweep) return this.sweptKeys(ctx, present);
    // on an existing `key = …` or `key { … }` only the name is replaced
    const entry = ctx.entry;
    const nameOnly = entry !== undefined && (entry.kind === 'blockEntry' || /^\s*=/.test(text.slice(entry.key.end)));
    const model = modelOf(this.doc.analysis, ctx.experiment);
    const current = model && ctx.blockPath.length <= 1 ? applicabilityOf(model) : undefined;
    const keyPrefix = ctx.blockPath.length ? ctx.blockPath.join('.') + '.' : '';
    const items: CompletionItem[] = [];
    if (entry?.kind !== 'blockEntry') {
      for (const [key, ks] of Object.entries(schema.keys)) {
        if (present.has(key)) continue;
        const applies = !current || keyApplies(ks, current);
        items.push(
          this.item(key, CompletionItemKind.Property, ctx.range, nameOnly ? key : `${key} = ${valueSnippet(ks, model && defaultOf(ks, model))}`, {
            snippet: !nameOnly,
            detail: describeType(ks.type) + (applies ? '' : ' — no effect with the current settings'),
            documentation: keyDocMarkdown(keyPrefix + key, ks, model),
            sortText: `${ks.required ? 0 : applies ? 1 : 3}${key}`,
          }),
        );
      }
    }
    if (!nameOnly || entry?.kind === 'blockEntry') {
      for (const [name, sub] of Object.entries(schema.blocks ?? {})) {
        if (present.has(name)) continue;
        items.push(
          this.item(name, CompletionItemKind.Module, ctx.range, nameOnly ? name : `${name} {\n\t$0\n}`, {
            snippet: !nameOnly,
            detail: `${name} { … }`,
            documentation: blockDocMarkdown(name, sub),
            sortText: `2${name}`,
          }),
        );
      }
    }
    return items;
  }

  /** In a sweep block: the dotted path of every key, with a list to fill in (dsl/sweep.ts). */
  private sweptKeys(ctx: KeyContext, present: ReadonlySet<string>): CompletionItem[] {
    const nameOnly = ctx.entry !== undefined && /^\s*=/.test(this.doc.analysis.text.slice(ctx.entry.key.end));
    return allKeyPaths()
      .filter((p) => !present.has(p))
      .map((p) => {
        const ks = keySchemaAt(p)!;
        return this.item(p, CompletionItemKind.Property, ctx.range, nameOnly ? p : `${p} = [$1]`, {
          snippet: !nameOnly,
          detail: `a list: ${describeType(ks.type)} each`,
          documentation: keyDocMarkdown(p, ks),
          sortText: `${p.includes('.') ? 1 : 0}${p}`,
        });
      });
  }

  // ---- values ----------------------------------------------------------------------------

  values(ctx: ValueContext): CompletionItem[] {
    const t = expectedType(ctx);
    if (!t) return [];
    const node = ctx.node;
    if (node?.kind === 'string' || node?.kind === 'list') return [];
    const range = ctx.range;
    // `key =|`: keep a space between `=` and the value
    const lead = this.doc.analysis.text[range.start - 1] === '=' ? ' ' : '';
    if (node?.kind === 'number') return this.unitsWithNumber(ctx, t);
    const items: CompletionItem[] = [];
    const inList = ctx.trail[ctx.trail.length - 1]?.kind === 'item';
    const taken = this.listItemsTaken(ctx);
    const model = modelOf(this.doc.analysis, ctx.experiment);
    const keySchema = ctx.trail.length === 0 ? lookupOwn(blockSchemaAt(ctx.blockPath)?.keys, ctx.key) : undefined;
    const fallbackDefault = keySchema ? defaultOf(keySchema, model) : undefined;
    const addDefault = () => {
      if (fallbackDefault === undefined) return;
      items.push(this.item(fallbackDefault, CompletionItemKind.Value, range, lead + fallbackDefault, { detail: 'default', sortText: '0' }));
    };
    switch (t.type) {
      case 'enum':
        for (const [v, doc] of Object.entries(t.values)) {
          if (taken.has(v)) continue;
          items.push(this.item(v, CompletionItemKind.EnumMember, range, lead + v, { documentation: doc, detail: v === fallbackDefault ? 'default' : undefined }));
        }
        break;
      case 'bool':
        for (const v of ['true', 'false']) items.push(this.item(v, CompletionItemKind.Keyword, range, lead + v, { detail: v === fallbackDefault ? 'default' : undefined }));
        break;
      case 'call':
        for (const [name, variant] of Object.entries(t.variants)) {
          const hasParts = node?.kind === 'call' && ctx.onCallee;
          items.push(
            this.item(name, CompletionItemKind.Function, range, lead + (hasParts ? name : callSnippet(name, variant)), {
              snippet: !hasParts,
              detail: callSignature(name, variant),
              documentation: variant.doc,
            }),
          );
        }
        break;
      case 'list':
        if (!inList) {
          const d = fallbackDefault ?? '[]';
          items.push(this.item(d, CompletionItemKind.Value, range, lead + (d === '[]' ? '[$0]' : `[\${1:${escapeSnippet(d.slice(1, -1))}}]`), { snippet: true, detail: describeType(t) }));
        }
        break;
      case 'path':
      case 'string':
        items.push(this.item('"…"', CompletionItemKind.Value, range, lead + '"$1"', { snippet: true, detail: describeType(t), command: t.type === 'path' ? RETRIGGER : undefined, filterText: '"' }));
        break;
      default:
        addDefault();
    }
    return items;
  }

  /** On a bare number such as `50`: offer it with each unit the key accepts (`50 steps`). */
  private unitsWithNumber(ctx: ValueContext, t: ValueType): CompletionItem[] {
    const n = ctx.node;
    if (n?.kind !== 'number' || n.unit) return [];
    return unitsOf(t).map((u) => {
      const text = u === '%' ? `${n.raw}%` : `${n.raw} ${u}`;
      return this.item(text, CompletionItemKind.Unit, ctx.range, text, { filterText: text, detail: describeType(t) });
    });
  }

  /** Items already in a list that must not repeat. */
  private listItemsTaken(ctx: AtValue): Set<string> {
    const last = ctx.trail[ctx.trail.length - 1];
    const listType = expectedType({ ...ctx, trail: ctx.trail.slice(0, -1) });
    if (last?.kind !== 'item' || listType?.type !== 'list' || !listType.unique) return new Set();
    return new Set(last.list.items.flatMap((i) => (i.kind === 'word' ? [i.name] : [])));
  }

  /** `afterSpace`: opened by typing a space, where only units (not the next key) are worth showing. */
  units(ctx: UnitContext, afterSpace: boolean): CompletionItem[] {
    const t = expectedType(ctx);
    if (!t) return [];
    const text = this.doc.analysis.text;
    const units = unitsOf(t);
    // `epochs = 5 |`: no unit goes here, so the next key does
    if (units.length === 0) return afterSpace ? [] : this.keys({ kind: 'key', experiment: ctx.experiment, blockPath: ctx.blockPath, block: ctx.block, prefix: ctx.prefix, range: ctx.range });
    return units.map((u) => {
      if (u !== '%') return this.item(u, CompletionItemKind.Unit, ctx.range, u, { detail: describeType(t) });
      // a percent sign goes right after the digits
      const range = { start: ctx.number.start + ctx.number.raw.length, end: ctx.range.end };
      return this.item('%', CompletionItemKind.Unit, range, '%', { detail: describeType(t), filterText: text.slice(range.start, ctx.range.start) + '%' });
    });
  }

  // ---- strings -----------------------------------------------------------------------------

  strings(ctx: StringContext): CompletionItem[] {
    const t = expectedType(ctx);
    if (t?.type === 'enum') {
      return Object.entries(t.values).map(([v, doc]) => this.item(v, CompletionItemKind.EnumMember, ctx.range, v, { documentation: doc }));
    }
    if (t?.type === 'path') return this.paths(ctx, t.pathKind);
    return [];
  }

  /** Directory entries relative to the `.sgt` file (or to the data folder for paths inside `data`). */
  private paths(ctx: StringContext, pathKind: 'file' | 'dir'): CompletionItem[] {
    const filePath = this.doc.filePath;
    if (!filePath) return [];
    const model = modelOf(this.doc.analysis, ctx.experiment);
    const inDataFolder = ctx.trail.length === 0 && ctx.blockPath.length === 1 && ctx.blockPath[0] === 'data';
    const base = inDataFolder && model?.data?.root ? model.data.root : path.dirname(filePath);
    const slash = ctx.prefix.lastIndexOf('/');
    const dirPart = ctx.prefix.slice(0, slash + 1);
    const partial = ctx.prefix.slice(slash + 1);
    const dir = path.resolve(base, dirPart || '.');
    // replace the whole path segment under the cursor, up to the next `/` or the closing quote
    const segStart = ctx.range.start + dirPart.length;
    const rest = this.doc.analysis.text.slice(segStart, ctx.range.end);
    const segEnd = segStart + (rest.includes('/') ? rest.indexOf('/') : rest.length);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const items: CompletionItem[] = [];
    for (const e of entries.slice(0, 1000)) {
      if (e.name.startsWith('.') && !partial.startsWith('.')) continue;
      const isDir = e.isDirectory() || (e.isSymbolicLink() && safeIsDir(path.join(dir, e.name)));
      if (!isDir && pathKind === 'dir') continue;
      const range = { start: segStart, end: segEnd };
      items.push(
        isDir
          ? this.item(e.name + '/', CompletionItemKind.Folder, range, e.name + '/', { sortText: `0${e.name}`, command: RETRIGGER, filterText: e.name })
          : this.item(e.name, CompletionItemKind.File, range, e.name, { sortText: `1${e.name}` }),
      );
    }
    return items;
  }
}

// ---- snippets ----------------------------------------------------------------------------

function escapeSnippet(s: string): string {
  return s.replace(/[$}\\]/g, (c) => '\\' + c);
}

function choice(index: number, values: string[]): string {
  return `\${${index}|${values.map((v) => v.replace(/[,|\\$}]/g, (c) => '\\' + c)).join(',')}|}`;
}

/** The snippet after `key = `: the schema's own snippet, a choice of values, or the default as a placeholder. */
export function valueSnippet(ks: KeySchema, resolvedDefault?: string): string {
  if (ks.snippet) return ks.snippet;
  const t = ks.type;
  const d = resolvedDefault ?? (typeof ks.default === 'string' ? ks.default : undefined);
  const first = (values: string[]) => (d !== undefined && values.includes(d) ? [d, ...values.filter((v) => v !== d)] : values);
  switch (t.type) {
    case 'enum':
      return choice(1, first(Object.keys(t.values)));
    case 'bool':
      return choice(1, first(['true', 'false']));
    case 'call':
      return choice(1, first(Object.keys(t.variants)));
    case 'path':
    case 'string':
      return d !== undefined && d.startsWith('"') ? `"\${1:${escapeSnippet(d.slice(1, -1))}}"` : '"$1"';
    default:
      return d !== undefined ? `\${1:${escapeSnippet(d)}}` : '$1';
  }
}

/** `builtin("${1|decoy-mnist,mnist|}")`, `folder("$1")`, `adam { lr = ${1:0.001} }`, `cosine`. */
export function callSnippet(name: string, v: CallVariant): string {
  let i = 1;
  let s = name;
  if (v.args) s += `(${v.args.map((a) => argSnippet(a, i++)).join(', ')})`;
  const first = v.options && Object.entries(v.options.keys).find(([, k]) => typeof k.default === 'string');
  if (first) s += ` { ${first[0]} = \${${i}:${escapeSnippet(first[1].default as string)}} }`;
  return s;
}

function argSnippet(a: CallArg, i: number): string {
  if (a.type.type === 'enum') return `"${choice(i, Object.keys(a.type.values))}"`;
  if (a.type.type === 'path' || a.type.type === 'string') return `"\${${i}}"`;
  return `\${${i}:${a.name}}`;
}

function unitsOf(t: ValueType): string[] {
  if (t.type === 'duration') return [...t.units];
  if (t.type === 'int' && t.unit) return [t.unit];
  if (t.type === 'percent') return ['%'];
  return [];
}

function safeIsDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
