/**
 * HTML escaping for the report. Everything that comes from a run directory
 * (experiment names, settings, error messages, file names) goes through
 * `escapeHtml` before it reaches the page; the report has no scripts, and its
 * Content-Security-Policy forbids them in case something slips through anyway.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element content and in double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The report's Content-Security-Policy: no scripts, no fetches; only inline styles and data: images. */
export const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";
