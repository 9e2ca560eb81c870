/// <reference lib="dom" />
/** The comparison table: one row per run, its status and the last epoch metrics per split. */
import { lastMetrics, type DashboardState } from './state';

const SPLITS = ['val', 'test', 'train'] as const;

/** Column list: (split, metric) pairs present in any run, validation first. */
export function metricColumns(state: DashboardState): { split: (typeof SPLITS)[number]; metric: string }[] {
  const cols: { split: (typeof SPLITS)[number]; metric: string }[] = [];
  for (const split of SPLITS) {
    const names = new Set<string>();
    for (const r of state.runs) for (const k of Object.keys(lastMetrics(r)[split] ?? {})) names.add(k);
    for (const metric of [...names].sort()) cols.push({ split, metric });
  }
  return cols;
}

function format(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4);
}

export function renderMetricsTable(state: DashboardState): HTMLElement {
  const table = document.createElement('table');
  table.className = 'metrics-table';
  const cols = metricColumns(state);
  const head = table.createTHead().insertRow();
  for (const h of ['Run', 'Status', 'Step', ...cols.map((c) => `${c.split} ${c.metric}`)]) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const r of state.runs) {
    const row = body.insertRow();
    const last = lastMetrics(r);
    const total = r.epochs && r.stepsPerEpoch ? r.epochs * r.stepsPerEpoch : undefined;
    const step = r.step.length ? r.step[r.step.length - 1] : undefined;
    const cells = [
      r.run.id,
      r.error ? `${r.status}: ${r.error}` : r.status,
      step === undefined ? '–' : total ? `${step} / ${total}` : String(step),
      ...cols.map((c) => format(last[c.split]?.[c.metric])),
    ];
    for (const text of cells) row.insertCell().textContent = text;
    row.cells[1].className = `status status-${r.status}`;
  }
  return table;
}
