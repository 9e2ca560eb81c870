/**
 * `sgt check`: runs the same analysis as the language server on each file and
 * converts the diagnostics' character offsets to 1-based lines and columns.
 */
import * as path from 'node:path';
import type { Severity } from '../dsl/diagnostics';
import { DataScanner, isInside } from '../dsl/files';
import { LineIndex } from '../dsl/text';
import { hasErrors } from '../dsl/resolve';
import { runsOf } from '../dsl/sweep';
import { analyze } from '../dsl/validate';
import type { SourceFile } from './inputs';
import { torchAvailability } from '../engines/torch/python';

/** A diagnostic as the CLI reports it. Lines and columns are 1-based; `endColumn` is exclusive. */
export interface ReportedDiagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  message: string;
  code: string;
}

export interface FileReport {
  file: string;
  diagnostics: ReportedDiagnostic[];
  /** The runs each sweep of the file expands into (dsl/sweep.ts), in file order; sweeps with errors have none. */
  sweeps?: SweepListing[];
}

export interface SweepListing {
  experiment: string;
  runs: string[];
}

export interface CheckOptions {
  /** Absolute folder that data paths must stay inside; per file when absent (see `workspaceFor`). */
  workspace?: string;
  cwd: string;
  /** Report errors only. */
  quiet: boolean;
}

export function checkSources(sources: readonly SourceFile[], options: CheckOptions): FileReport[] {
  // one scanner for the run: files in one folder share their data scans
  const scanner = new DataScanner(Number.POSITIVE_INFINITY);
  return sources.map((source) => {
    const analysis = analyze(source.text, {
      filePath: source.absPath,
      workspaceRoot: options.workspace ?? workspaceFor(source.absPath, options.cwd),
      scanner,
      torch: () => torchAvailability(),
    });
    const lines = new LineIndex(source.text);
    const diagnostics = analysis.diagnostics
      .filter((d) => !options.quiet || d.severity === 'error')
      .map((d): ReportedDiagnostic => {
        const start = lines.positionAt(d.start);
        const end = lines.positionAt(d.end);
        return {
          line: start.line + 1,
          column: start.character + 1,
          endLine: end.line + 1,
          endColumn: end.character + 1,
          severity: d.severity,
          message: d.message,
          code: d.code,
        };
      });
    // an experiment with errors runs nothing, whatever its sweep expands into
    const sweeps = [...analysis.experiments.values()].filter((m) => m.runs !== undefined).map((m) => ({ experiment: m.name, runs: hasErrors(analysis, m) ? [] : runsOf(m).map((r) => r.name) }));
    return { file: source.display, diagnostics, sweeps };
  });
}

/**
 * The workspace of a file when `--workspace` is not given: the current
 * directory when the file is inside it (running in a project), else the file's
 * own folder (checking a file from elsewhere must not widen what it may read).
 */
export function workspaceFor(absPath: string, cwd: string): string {
  return isInside(cwd, absPath) ? cwd : path.dirname(absPath);
}
