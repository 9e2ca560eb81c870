/** Document outline: experiments > blocks > keys (and the options of calls such as `adam { … }`). */
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver/node';
import type { Block, Entry, Experiment } from '../dsl/ast';
import { printValue } from '../dsl/values';
import type { AnalyzedDocument } from './documents';
import { toRange } from './convert';

export function documentSymbols(doc: AnalyzedDocument): DocumentSymbol[] {
  return doc.analysis.file.experiments.map((e) => experimentSymbol(doc, e));
}

function experimentSymbol(doc: AnalyzedDocument, e: Experiment): DocumentSymbol {
  const nameSpan = e.name ?? { start: e.start, end: e.start + 'experiment'.length };
  // a sweep says how many runs it stands for (dsl/sweep.ts)
  const model = e.name ? doc.analysis.experiments.get(e.name.name) : undefined;
  const runs = model?.node === e && model.runs ? `sweep of ${model.runs.length} run${model.runs.length === 1 ? '' : 's'}` : undefined;
  return {
    name: e.name?.name ?? '(unnamed experiment)',
    detail: [e.extends ? `extends ${e.extends.name}` : undefined, runs].filter(Boolean).join(' · ') || undefined,
    kind: SymbolKind.Class,
    range: toRange(doc.lines, e),
    selectionRange: toRange(doc.lines, nameSpan),
    children: blockSymbols(doc, e.body),
  };
}

function blockSymbols(doc: AnalyzedDocument, block: Block): DocumentSymbol[] {
  return block.entries.map((entry) => entrySymbol(doc, entry));
}

function entrySymbol(doc: AnalyzedDocument, entry: Entry): DocumentSymbol {
  const range = toRange(doc.lines, entry);
  const selectionRange = toRange(doc.lines, entry.key);
  if (entry.kind === 'blockEntry') {
    return { name: entry.key.name, kind: SymbolKind.Namespace, range, selectionRange, children: blockSymbols(doc, entry.block) };
  }
  const v = entry.value;
  const detail = v ? oneLine(printValue(v)) : undefined;
  const children = v?.kind === 'call' && v.options ? blockSymbols(doc, v.options) : undefined;
  return { name: entry.key.name, detail, kind: SymbolKind.Property, range, selectionRange, ...(children?.length ? { children } : {}) };
}

function oneLine(s: string): string {
  return s.length > 60 ? s.slice(0, 59) + '…' : s;
}
