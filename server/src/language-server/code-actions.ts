/**
 * Quick fixes. The validator computes the edits (`Diagnostic.fixes`) where the
 * problem is understood; this only matches the editor's diagnostics back to
 * ours and turns the offsets into ranges.
 */
import { CodeActionKind, type CodeAction, type CodeActionParams } from 'vscode-languageserver/node';
import type { AnalyzedDocument } from './documents';
import { sameRange, toRange, toTextEdit } from './convert';
import { DIAGNOSTIC_SOURCE } from './diagnostics';

export function codeActions(doc: AnalyzedDocument, params: CodeActionParams): CodeAction[] {
  const only = params.context.only;
  if (only && !only.some((k) => CodeActionKind.QuickFix === k || CodeActionKind.QuickFix.startsWith(k + '.'))) return [];
  const actions: CodeAction[] = [];
  for (const lspDiag of params.context.diagnostics) {
    if (lspDiag.source !== DIAGNOSTIC_SOURCE) continue;
    const ours = doc.analysis.diagnostics.find(
      (d) => d.fixes?.length && d.code === lspDiag.code && d.message === lspDiag.message && sameRange(toRange(doc.lines, d), lspDiag.range),
    );
    for (const fix of ours?.fixes ?? []) {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [lspDiag],
        isPreferred: fix.preferred === true,
        edit: { changes: { [doc.uri]: fix.edits.map((e) => toTextEdit(doc.lines, e)) } },
      });
    }
  }
  return actions;
}
