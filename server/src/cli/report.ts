/**
 * Output formats of `sgt check`: compiler-style text lines (which editors and
 * CI log viewers turn into links) and a JSON document for tools.
 */
import type { FileReport } from './check';

export interface Counts {
  errors: number;
  warnings: number;
  files: number;
}

export function countDiagnostics(reports: readonly FileReport[]): Counts {
  let errors = 0;
  let warnings = 0;
  for (const r of reports) {
    for (const d of r.diagnostics) {
      if (d.severity === 'error') errors++;
      else if (d.severity === 'warning') warnings++;
    }
  }
  return { errors, warnings, files: reports.length };
}

/** ANSI styling, or none. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const ansi = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
export const COLOR: Style = { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), yellow: ansi(33, 39), cyan: ansi(36, 39) };
export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s, cyan: (s) => s };

/** Colour only for a terminal, and never when the user opted out (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  return stream.isTTY && !env.NO_COLOR ? COLOR : PLAIN;
}

/** `file:line:col: severity: message [code]`, one line per diagnostic. */
export function formatText(reports: readonly FileReport[], style: Style): string {
  const lines: string[] = [];
  for (const r of reports) {
    for (const d of r.diagnostics) {
      const severity = d.severity === 'error' ? style.red(d.severity) : d.severity === 'warning' ? style.yellow(d.severity) : style.cyan(d.severity);
      lines.push(`${style.bold(`${safe(r.file)}:${d.line}:${d.column}`)}: ${severity}: ${safe(d.message)} ${style.dim(`[${d.code}]`)}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * The runs of each sweep, for people (stderr): `file: 'methods' sweeps 6 runs:` and one
 * run name a line. A sweep with errors has none: `… sweeps no runs (fix the errors above)`.
 */
export function formatSweeps(reports: readonly FileReport[], style: Style): string {
  const lines: string[] = [];
  for (const r of reports) {
    for (const s of r.sweeps ?? []) {
      const head = `${style.bold(safe(r.file))}: '${safe(s.experiment)}' sweeps`;
      if (s.runs.length === 0) lines.push(`${head} no runs (fix the errors above)`);
      else lines.push(`${head} ${plural(s.runs.length, 'run')}:`, ...s.runs.map((n) => `  ${safe(n)}`));
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** `2 errors, 1 warning in 3 files` */
export function formatSummary(counts: Counts, style: Style): string {
  const errors = plural(counts.errors, 'error');
  const warnings = plural(counts.warnings, 'warning');
  return `${counts.errors ? style.red(errors) : errors}, ${counts.warnings ? style.yellow(warnings) : warnings} in ${plural(counts.files, 'file')}\n`;
}

export function formatJson(reports: readonly FileReport[]): string {
  const { errors, warnings } = countDiagnostics(reports);
  const files = reports.map((r) => ({
    file: r.file,
    ...(r.sweeps?.length ? { sweeps: r.sweeps } : {}),
    diagnostics: r.diagnostics.map((d) => ({
      line: d.line,
      column: d.column,
      endLine: d.endLine,
      endColumn: d.endColumn,
      severity: d.severity,
      message: d.message,
      code: d.code,
    })),
  }));
  return JSON.stringify({ files, errors, warnings }, null, 2) + '\n';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Messages quote the checked file's text, which may hold control characters
 * (a binary file, an escape sequence); they are shown as code points, never
 * sent to the terminal raw.
 */
function safe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
