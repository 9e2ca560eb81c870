/**
 * How numbers read in the CLI and the report: accuracies and correlations with 3
 * decimals, errors and losses with 4 (so differences between runs stay visible),
 * durations as `1h 02m`, `3m 05s`, `12s`.
 */
export function formatMetric(name: string, v: number | undefined): string {
  if (v === undefined || v === null) return '–';
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  return /mse|loss/.test(name) ? v.toFixed(4) : v.toFixed(3);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
