/**
 * Everything a report shows about one run, read from its run directory. Run
 * directories come in every state — finished, failed, killed mid-write, still
 * running, hand-edited — so nothing here throws for bad content: missing files
 * and malformed events become `problems` and gaps, never a crash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Metrics, RunEvent } from '../protocol';
import { keptMetrics, readEvents, readJsonFile, readOverlayIndex, readSummary, RUN_FILES, timeline, type OverlayIndexEntry, type RunStatus } from '../runs/run-dir';

export type StartedEvent = Extract<RunEvent, { type: 'started' }>;
export type StepEvent = Extract<RunEvent, { type: 'step' }>;
export type EpochEvent = Extract<RunEvent, { type: 'epoch' }>;
export type EndingEvent = Extract<RunEvent, { type: 'finished' | 'failed' | 'cancelled' }>;
export type LogEvent = Extract<RunEvent, { type: 'log' }>;

export interface RunData {
  id: string;
  dir: string;
  experiment: string;
  status: RunStatus;
  /** resolved.json, or undefined when it is unreadable. */
  resolved: Record<string, unknown> | undefined;
  /** The first `started` event (the run's plan) and the last (the attempt that produced the ending). */
  started?: StartedEvent;
  lastStarted?: StartedEvent;
  /** Valid step events of the run's history (superseded ones dropped after a resume). */
  steps: StepEvent[];
  epochs: EpochEvent[];
  overlays: OverlayIndexEntry[];
  ending?: EndingEvent;
  /** Warnings and errors the engine logged. */
  logs: LogEvent[];
  summary: unknown;
  /** Training time over all attempts, in seconds. */
  durationSeconds?: number;
  /** The epoch of the kept checkpoint (`best` checkpoints), else of the best validation accuracy. */
  bestEpoch?: number;
  /** Metrics of the last `epoch` event per split. */
  final: Record<string, Metrics>;
  /**
   * Metrics of the checkpoint the run keeps (runs/run-dir.ts keptMetrics: summary.json
   * `metrics`, the best validation epoch with `checkpoint = best`), else `final`: the numbers a
   * user would deploy, chosen without looking at the test split.
   */
  kept: Record<string, Metrics>;
  /** The epoch of `kept`: summary.json `selectedEpoch`, else the last recorded epoch. */
  keptEpoch?: number;
  /** What is wrong with the run directory, for the reader. */
  problems: string[];
}

export function loadRun(dir: string): RunData {
  const problems: string[] = [];
  const rawEvents = readEvents(dir);
  const unreadable = countEventLines(dir) - rawEvents.length;
  if (unreadable > 0) problems.push(`${unreadable} unreadable line${unreadable === 1 ? '' : 's'} in ${RUN_FILES.events} (a write cut short), skipped`);
  const events = timeline(rawEvents.filter(isWellFormed));
  const resolvedRaw = readJsonFile<unknown>(path.join(dir, RUN_FILES.resolved));
  const resolved = isObject(resolvedRaw) ? resolvedRaw : undefined;
  if (!resolved) problems.push(`no readable ${RUN_FILES.resolved}`);
  if (rawEvents.length === 0) problems.push('no events: the run never started, or its events file is missing');

  const starts = events.filter((e): e is StartedEvent => e.type === 'started');
  const steps = events.filter((e): e is StepEvent => e.type === 'step');
  const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
  const logs = events.filter((e): e is LogEvent => e.type === 'log' && e.level !== 'info');
  let ending: EndingEvent | undefined;
  for (const e of events) {
    if (e.type === 'finished' || e.type === 'failed' || e.type === 'cancelled') ending = e;
    // a resumed attempt reopens the run
    else if (e.type === 'started') ending = undefined;
  }
  const status: RunStatus = ending ? ending.type : 'interrupted';
  const final: Record<string, Metrics> = {};
  for (const e of epochs) final[e.split] = { ...final[e.split], ...e.metrics };

  const summary = readSummary(dir);
  if (summary === undefined && status === 'finished') problems.push(`no ${RUN_FILES.summary}`);

  let overlays = readOverlayIndex(dir);
  if (!Array.isArray(overlays)) overlays = [];
  overlays = overlays.filter((o) => isObject(o) && Array.isArray(o.files) && Number.isFinite(o.step));
  if (overlays.length === 0) {
    // the index is written after the images: fall back on the events when it is missing
    overlays = events.filter((e): e is Extract<RunEvent, { type: 'overlay' }> => e.type === 'overlay').map((e) => ({ epoch: e.epoch, step: e.step, files: e.files }));
  }
  // an overlay step a resume superseded is not part of the run's history
  const lastStep = steps.at(-1)?.step ?? Number.POSITIVE_INFINITY;
  overlays = overlays.filter((o) => o.step <= lastStep).sort((a, b) => a.step - b.step);

  const kept = keptMetrics(summary, final, epochs.at(-1)?.epoch);
  const experiment = str(starts[0]?.experiment) ?? str(resolved?.name) ?? path.basename(dir).replace(/-\d{8}-\d{6}-[0-9a-f]{4}$/, '');
  return {
    id: path.basename(dir),
    dir,
    experiment,
    status,
    resolved,
    started: starts[0],
    lastStarted: starts.at(-1),
    steps,
    epochs,
    overlays,
    ending,
    logs,
    summary,
    durationSeconds: duration(events),
    bestEpoch: bestEpoch(events, epochs, summary),
    final,
    kept: kept.metrics,
    keptEpoch: kept.epoch,
    problems,
  };
}

function countEventLines(dir: string): number {
  try {
    return fs
      .readFileSync(path.join(dir, RUN_FILES.events), 'utf8')
      .split('\n')
      .filter((l) => l.trim()).length;
  } catch {
    return 0;
  }
}

/** Drops events whose fields a report relies on are missing or of the wrong type (a hand-edited or foreign file). */
function isWellFormed(e: RunEvent): boolean {
  if (!isObject(e)) return false;
  const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  switch (e.type) {
    case 'started':
      return n(e.epochs) && n(e.stepsPerEpoch);
    case 'step':
      return n(e.step) && n(e.epoch);
    case 'epoch':
      return n(e.epoch) && typeof e.split === 'string' && isObject(e.metrics);
    case 'overlay':
      return n(e.step) && Array.isArray(e.files);
    case 'checkpoint':
      return n(e.epoch);
    case 'log':
      return typeof e.message === 'string';
    case 'finished':
    case 'failed':
    case 'cancelled':
      return true;
    default:
      return false;
  }
}

/** Sum over attempts of the time from `started` to the attempt's last event. */
function duration(events: RunEvent[]): number | undefined {
  let total = 0;
  let from: number | undefined;
  let last: number | undefined;
  const close = () => {
    if (from !== undefined && last !== undefined && last >= from) total += (last - from) / 1000;
  };
  for (const e of events) {
    const t = Date.parse(e.time);
    if (!Number.isFinite(t)) continue;
    if (e.type === 'started') {
      close();
      from = t;
    }
    last = t;
  }
  close();
  return from === undefined ? undefined : total;
}

function bestEpoch(events: RunEvent[], epochs: EpochEvent[], summary: unknown): number | undefined {
  if (isObject(summary)) {
    const s = summary.bestEpoch ?? (isObject(summary.best) ? summary.best.epoch : undefined);
    if (typeof s === 'number' && Number.isFinite(s)) return s;
  }
  let fromCheckpoints: number | undefined;
  for (const e of events) if (e.type === 'checkpoint' && e.best === true) fromCheckpoints = e.epoch;
  if (fromCheckpoints !== undefined) return fromCheckpoints;
  let best: EpochEvent | undefined;
  for (const e of epochs) {
    if (e.split !== 'val' || typeof e.metrics.accuracy !== 'number') continue;
    if (!best || e.metrics.accuracy > best.metrics.accuracy) best = e;
  }
  return best?.epoch;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}
