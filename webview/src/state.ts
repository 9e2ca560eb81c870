/**
 * The dashboard's state and the pure reducer that applies host messages to it. No DOM
 * here, so mocha tests it directly (test/webview/state.test.ts); main.ts renders it.
 */
import type { DashboardConsistency, DashboardOverlay, DashboardRun, DashboardViewState, Metrics, RunEvent, ToWebview } from '../../server/src/protocol';

export type RunStatus = 'waiting' | 'running' | 'finished' | 'failed' | 'cancelled';

export interface EpochPoint {
  epoch: number;
  step: number;
  split: 'train' | 'val' | 'test';
  metrics: Metrics;
}

/** Everything the dashboard knows about one run: column-wise step series (what charts want). */
export interface RunState {
  run: DashboardRun;
  status: RunStatus;
  backend?: string;
  epochs?: number;
  stepsPerEpoch?: number;
  error?: string;
  step: number[];
  loss: number[];
  ce: number[];
  guidance: number[];
  accuracy: number[];
  epochMetrics: EpochPoint[];
  overlays: DashboardOverlay[];
}

export interface DashboardState {
  runs: RunState[];
  view: DashboardViewState;
  /** Cross-run CAM consistency of compared runs of one setting (the host computes it from their run directories). */
  consistency: DashboardConsistency[];
}

export const DEFAULT_VIEW: DashboardViewState = { runDirs: [], overlayIndex: -1, camOpacity: 0.6 };

export function initialState(view: Partial<DashboardViewState> = {}): DashboardState {
  return { runs: [], view: { ...DEFAULT_VIEW, ...view }, consistency: [] };
}

function emptyRun(run: DashboardRun): RunState {
  return { run, status: 'waiting', step: [], loss: [], ce: [], guidance: [], accuracy: [], epochMetrics: [], overlays: [] };
}

/** Applies one host message; returns a new state (the runs touched are copied, the rest shared). */
export function reduce(state: DashboardState, msg: ToWebview): DashboardState {
  switch (msg.type) {
    case 'init': {
      const runs = msg.runs.map(emptyRun);
      return { runs, view: { ...state.view, ...msg.state, runDirs: msg.runs.map((r) => r.runDir) }, consistency: [] };
    }
    case 'consistency':
      return { ...state, consistency: msg.groups };
    case 'events':
      return updateRun(state, msg.runDir, (r) => applyEvents(r, msg.events));
    case 'overlays':
      return updateRun(state, msg.runDir, (r) => ({ ...r, overlays: [...msg.entries].sort((a, b) => a.step - b.step) }));
    case 'batch':
      return msg.messages.reduce(reduce, state);
  }
}

/** Applies a view change from the UI (slider moves), clamped to valid values. */
export function setView(state: DashboardState, change: Partial<DashboardViewState>): DashboardState {
  const view = { ...state.view, ...change };
  view.camOpacity = Math.min(1, Math.max(0, view.camOpacity));
  view.overlayIndex = Math.max(-1, Math.floor(view.overlayIndex));
  return { ...state, view };
}

function updateRun(state: DashboardState, runDir: string, f: (r: RunState) => RunState): DashboardState {
  const i = state.runs.findIndex((r) => r.run.runDir === runDir);
  if (i < 0) return state; // a late batch for a run the panel no longer shows
  const runs = state.runs.slice();
  runs[i] = f(runs[i]);
  return { ...state, runs };
}

/** A copy of a run whose arrays a batch of events may then change in place (one copy per batch, not per event). */
function copyRun(r: RunState): RunState {
  return { ...r, step: r.step.slice(), loss: r.loss.slice(), ce: r.ce.slice(), guidance: r.guidance.slice(), accuracy: r.accuracy.slice(), epochMetrics: r.epochMetrics.slice() };
}

/** Drops points at or after `step` (in place): a resumed attempt recomputes them (run-dir.ts timeline()). */
function truncateFrom(r: RunState, step: number): void {
  const keep = r.step.findIndex((s) => s >= step);
  if (keep >= 0) for (const col of [r.step, r.loss, r.ce, r.guidance, r.accuracy]) col.length = keep;
  r.epochMetrics = r.epochMetrics.filter((e) => e.step < step);
}

/** Applies a batch of events to a run; returns a new run, `r` is left unchanged. */
export function applyEvents(r: RunState, events: RunEvent[]): RunState {
  const out = copyRun(r);
  for (const e of events) applyEvent(out, e);
  return out;
}

/** Applies one event to a run in place (only on a copy: see applyEvents). */
function applyEvent(r: RunState, e: RunEvent): void {
  switch (e.type) {
    case 'started':
      if (e.resumedFrom) truncateFrom(r, e.resumedFrom.step + 1);
      Object.assign(r, { status: 'running', backend: e.backend, epochs: e.epochs, stepsPerEpoch: e.stepsPerEpoch, error: undefined });
      return;
    case 'step':
      // a step at or before the last one means a resumed attempt repeats history: replace it
      if (r.step.length && e.step <= r.step[r.step.length - 1]) truncateFrom(r, e.step);
      if (r.status === 'waiting') r.status = 'running';
      r.step.push(e.step);
      r.loss.push(e.loss);
      r.ce.push(e.ce);
      r.guidance.push(e.guidance);
      r.accuracy.push(e.accuracy);
      return;
    case 'epoch':
      r.epochMetrics = r.epochMetrics.filter((p) => !(p.split === e.split && p.step >= e.step));
      r.epochMetrics.push({ epoch: e.epoch, step: e.step, split: e.split, metrics: e.metrics });
      return;
    case 'finished':
    case 'cancelled':
      r.status = e.type;
      return;
    case 'failed':
      r.status = 'failed';
      r.error = e.error;
      return;
    default:
      // overlays come as `overlays` messages (with webview URIs); checkpoints and logs are not charted
      return;
  }
}

// ---- derived views ----------------------------------------------------------------------------

/** The union of overlay steps over the runs, ascending: the gallery slider's positions. */
export function overlaySteps(state: DashboardState): number[] {
  const steps = new Set<number>();
  for (const r of state.runs) for (const o of r.overlays) steps.add(o.step);
  return [...steps].sort((a, b) => a - b);
}

/** The step the gallery shows: the slider's position, or the latest when it follows (-1) or is out of range. */
export function selectedOverlayStep(state: DashboardState): number | undefined {
  const steps = overlaySteps(state);
  if (!steps.length) return undefined;
  const i = state.view.overlayIndex;
  return i >= 0 && i < steps.length ? steps[i] : steps[steps.length - 1];
}

/** A run's latest overlay at or before `step` (runs preview at different steps when compared). */
export function overlayAt(r: RunState, step: number): DashboardOverlay | undefined {
  let best: DashboardOverlay | undefined;
  for (const o of r.overlays) if (o.step <= step && (!best || o.step > best.step)) best = o;
  return best;
}

/** The last metrics per split of a run (what the comparison table shows). */
export function lastMetrics(r: RunState): Partial<Record<EpochPoint['split'], Metrics>> {
  const out: Partial<Record<EpochPoint['split'], Metrics>> = {};
  for (const p of [...r.epochMetrics].sort((a, b) => a.step - b.step)) out[p.split] = p.metrics;
  return out;
}

/** Metrics that say how a model's attribution agrees with the human annotation (the saliency chart's). */
export function isSaliencyMetric(name: string): boolean {
  return name.startsWith('saliency') || name === 'epg' || name === 'iou';
}

/** Names of the runs' epoch metrics that measure agreement with humans (charted together), sorted. */
export function saliencyMetricNames(state: DashboardState): string[] {
  const names = new Set<string>();
  for (const r of state.runs) for (const p of r.epochMetrics) for (const k of Object.keys(p.metrics)) if (isSaliencyMetric(k)) names.add(k);
  return [...names].sort();
}

/**
 * Aligns series with different x values on their union (uPlot wants one shared x array);
 * a series has null where it has no point.
 */
export function alignSeries(series: { x: number[]; y: number[] }[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const pos = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => (col[pos.get(x)!] = Number.isFinite(s.y[i]) ? s.y[i] : null));
    return col;
  });
  return [xs, ...ys];
}
