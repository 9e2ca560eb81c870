/** Offsets (the DSL's positions) <-> LSP ranges and edits. */
import type { Range, TextEdit } from 'vscode-languageserver/node';
import type { Span } from '../dsl/ast';
import type { LineIndex } from '../dsl/text';

export function toRange(lines: LineIndex, s: Span): Range {
  return { start: lines.positionAt(s.start), end: lines.positionAt(s.end) };
}

export function toTextEdit(lines: LineIndex, e: { start: number; end: number; newText: string }): TextEdit {
  return { range: toRange(lines, e), newText: e.newText };
}

export function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}
