/** Formatting: the canonical style of `dsl/format.ts`, as one full-document edit. */
import type { FormattingOptions, TextEdit } from 'vscode-languageserver/node';
import { format } from '../dsl/format';
import type { AnalyzedDocument } from './documents';

export function formatDocument(doc: AnalyzedDocument, options: FormattingOptions): TextEdit[] {
  const text = doc.analysis.text;
  const indent = options.insertSpaces ? ' '.repeat(Math.max(1, options.tabSize)) : '\t';
  const formatted = format(text, { indent });
  // undefined: syntax errors, which the formatter never touches
  if (formatted === undefined || formatted === text) return [];
  return [{ range: { start: { line: 0, character: 0 }, end: doc.lines.positionAt(text.length) }, newText: formatted }];
}
