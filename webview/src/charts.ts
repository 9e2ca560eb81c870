/// <reference lib="dom" />
/**
 * The dashboard's charts (uPlot: small, canvas-based, fast with thousands of points).
 * One chart per quantity; in a comparison each run has its own colour, and a run's
 * loss parts are told apart by dash style.
 */
import uPlot from 'uplot';
import { alignSeries, saliencyMetricNames, type DashboardState, type RunState } from './state';

/** Run colours: distinguishable on light and dark themes. */
export const RUN_COLORS = ['#3794ff', '#f14c4c', '#89d185', '#cca700', '#b180d7', '#4ec9b0', '#ce9178', '#d16d9e'];

export interface ChartSpec {
  id: string;
  title: string;
  /** `points`: draw a marker at each value (epoch series are sparse: one value alone draws no line). */
  series: { label: string; color: string; dash?: number[]; points?: boolean; x: number[]; y: number[] }[];
}

/** What to chart, from the state alone (pure, so tests can check it without a canvas). */
export function chartSpecs(state: DashboardState): ChartSpec[] {
  const many = state.runs.length > 1;
  const name = (r: RunState, what: string) => (many ? `${r.run.id} · ${what}` : what);
  const color = (i: number) => RUN_COLORS[i % RUN_COLORS.length];
  const loss: ChartSpec = { id: 'loss', title: 'Loss (total, classification, guidance)', series: [] };
  const acc: ChartSpec = { id: 'accuracy', title: 'Accuracy', series: [] };
  const sal: ChartSpec = { id: 'saliency', title: 'Saliency agreement with humans (correlation, MSE, EPG, IoU)', series: [] };
  const salNames = saliencyMetricNames(state);
  state.runs.forEach((r, i) => {
    loss.series.push({ label: name(r, 'loss'), color: color(i), x: r.step, y: r.loss });
    loss.series.push({ label: name(r, 'classification'), color: color(i), dash: [6, 4], x: r.step, y: r.ce });
    loss.series.push({ label: name(r, 'guidance'), color: color(i), dash: [2, 3], x: r.step, y: r.guidance });
    acc.series.push({ label: name(r, 'train (step)'), color: color(i), x: r.step, y: r.accuracy });
    for (const split of ['val', 'test'] as const) {
      const pts = r.epochMetrics.filter((p) => p.split === split && typeof p.metrics.accuracy === 'number');
      if (pts.length) acc.series.push({ label: name(r, `${split} (epoch)`), color: color(i), dash: [6, 4], points: true, x: pts.map((p) => p.step), y: pts.map((p) => p.metrics.accuracy) });
    }
    salNames.forEach((m, k) => {
      const pts = r.epochMetrics.filter((p) => p.split !== 'train' && typeof p.metrics[m] === 'number');
      if (pts.length) sal.series.push({ label: name(r, `${m} (${pts[pts.length - 1].split})`), color: color(i), dash: k ? [6, 4] : undefined, points: true, x: pts.map((p) => p.step), y: pts.map((p) => p.metrics[m]) });
    });
  });
  return [loss, acc, sal];
}

/** The x range of a chart: from step 0 to its last step (`fallback` when it has none yet). */
export function xRange(xs: ArrayLike<number> | undefined, fallback: number): [number, number] {
  const last = xs && xs.length ? xs[xs.length - 1] : fallback;
  return [0, last > 0 ? last : 1];
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** Keeps one uPlot per chart id; rebuilds a chart only when its series change, else just swaps data. */
export class Charts {
  private readonly plots = new Map<string, { plot: uPlot; key: string; box: HTMLElement }>();

  constructor(private readonly host: HTMLElement) {
    new ResizeObserver(() => this.resize()).observe(host);
  }

  update(specs: ChartSpec[]): void {
    for (const spec of specs) {
      const data = alignSeries(spec.series) as uPlot.AlignedData;
      const key = spec.series.map((s) => s.label).join('\n');
      const existing = this.plots.get(spec.id);
      if (existing && existing.key === key) {
        existing.plot.setData(data);
        continue;
      }
      existing?.plot.destroy();
      const box = existing?.box ?? this.box(spec);
      const fg = cssVar('--vscode-foreground', '#ccc');
      const grid = cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
      const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      const plot = new uPlot(
        {
          width: this.width(),
          height: 220,
          // every chart starts at step 0 and ends at the last step it has: read the data, not `max`,
          // because uPlot pads a lone x value (a one-epoch run's validation point) before calling this
          scales: { x: { time: false, range: (u, _min, max) => xRange(u.data[0] as ArrayLike<number> | undefined, max) } },
          axes: [{ ...axis, label: 'step' }, { ...axis }],
          legend: { live: false },
          series: [{ label: 'step' }, ...spec.series.map((s) => ({ label: s.label, stroke: s.color, dash: s.dash, width: 1.5, spanGaps: true, points: { show: s.points === true, size: 5 } }))],
        },
        data,
        box.querySelector<HTMLElement>('.chart-canvas')!,
      );
      this.plots.set(spec.id, { plot, key, box });
    }
  }

  private box(spec: ChartSpec): HTMLElement {
    const box = document.createElement('div');
    box.className = 'chart';
    box.dataset.chart = spec.id;
    const title = document.createElement('h3');
    title.textContent = spec.title;
    const canvas = document.createElement('div');
    canvas.className = 'chart-canvas';
    box.append(title, canvas);
    this.host.append(box);
    return box;
  }

  private width(): number {
    return Math.max(280, Math.min(this.host.clientWidth - 16, 900));
  }

  private resize(): void {
    for (const { plot } of this.plots.values()) plot.setSize({ width: this.width(), height: 220 });
  }
}
