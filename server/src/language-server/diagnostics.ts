/** Converts the analysis' diagnostics to LSP diagnostics. */
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic as LspDiagnostic } from 'vscode-languageserver/node';
import type { Severity } from '../dsl/diagnostics';
import type { AnalyzedDocument } from './documents';
import { toRange } from './convert';

/** `source` of every diagnostic this server publishes; code actions only answer for these. */
export const DIAGNOSTIC_SOURCE = 'sgt';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

export function lspDiagnostics(doc: AnalyzedDocument): LspDiagnostic[] {
  return doc.analysis.diagnostics.map((d) => ({
    range: toRange(doc.lines, d),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: DIAGNOSTIC_SOURCE,
    message: d.message,
    // a key without effect is shown faded, like unused code
    ...(d.code === 'not-applicable' ? { tags: [DiagnosticTag.Unnecessary] } : {}),
  }));
}
