/**
 * Experiment names across a file: go to definition (`extends X` -> X), find
 * references (every `extends X`, and the definition when asked), rename.
 */
import { LSPErrorCodes, ResponseError, type Location, type Range, type WorkspaceEdit } from 'vscode-languageserver/node';
import type { Identifier } from '../dsl/ast';
import { contextAt } from '../dsl/cursor';
import type { AnalyzedDocument } from './documents';
import { toRange } from './convert';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(['experiment', 'extends', 'true', 'false']);

/** The experiment name under the cursor: a definition or an `extends` target. */
function nameAt(doc: AnalyzedDocument, offset: number): Identifier | undefined {
  const ctx = contextAt(doc.analysis.file, doc.analysis.text, offset);
  if (ctx.kind === 'experimentName') return ctx.name;
  if (ctx.kind === 'extends') return ctx.target;
  return undefined;
}

function definitionsOf(doc: AnalyzedDocument, name: string): Identifier[] {
  return doc.analysis.file.experiments.flatMap((e) => (e.name?.name === name ? [e.name] : []));
}

function usesOf(doc: AnalyzedDocument, name: string): Identifier[] {
  return doc.analysis.file.experiments.flatMap((e) => (e.extends?.name === name ? [e.extends] : []));
}

function location(doc: AnalyzedDocument, id: Identifier): Location {
  return { uri: doc.uri, range: toRange(doc.lines, id) };
}

export function definition(doc: AnalyzedDocument, offset: number): Location[] {
  const id = nameAt(doc, offset);
  if (!id) return [];
  const target = doc.analysis.experiments.get(id.name)?.node.name;
  return target ? [location(doc, target)] : [];
}

export function references(doc: AnalyzedDocument, offset: number, includeDeclaration: boolean): Location[] {
  const id = nameAt(doc, offset);
  if (!id) return [];
  const ids = [...(includeDeclaration ? definitionsOf(doc, id.name) : []), ...usesOf(doc, id.name)];
  return ids.sort((a, b) => a.start - b.start).map((x) => location(doc, x));
}

export function prepareRename(doc: AnalyzedDocument, offset: number): { range: Range; placeholder: string } | null {
  const id = nameAt(doc, offset);
  return id ? { range: toRange(doc.lines, id), placeholder: id.name } : null;
}

export function rename(doc: AnalyzedDocument, offset: number, newName: string): WorkspaceEdit | null {
  const id = nameAt(doc, offset);
  if (!id) return null;
  if (!IDENTIFIER.test(newName) || KEYWORDS.has(newName)) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `'${newName}' is not a valid experiment name: use letters, digits and '_', starting with a letter or '_'.`);
  }
  if (newName !== id.name && definitionsOf(doc, newName).length > 0) {
    throw new ResponseError(LSPErrorCodes.RequestFailed, `An experiment named '${newName}' already exists in this file.`);
  }
  const ids = [...definitionsOf(doc, id.name), ...usesOf(doc, id.name)];
  return { changes: { [doc.uri]: ids.map((x) => ({ range: toRange(doc.lines, x), newText: newName })) } };
}
