/**
 * The run directory — the source of truth for one training run (design.md):
 *
 *   .sgt/runs/<id>/
 *     experiment.sgt     snapshot of the file the run came from
 *     resolved.json      the experiment with every default filled in (what the engine reads)
 *     events.jsonl       append-only RunEvents (protocol.ts), one per line, written per event
 *     overlays/          <step>/<sample>.png CAM overlays + index.json
 *     checkpoints/       engine-specific weights, written atomically; last.json / best.json point at them
 *     summary.json       final metrics (rewritten atomically)
 *     cams/probe.json    with `consistency` in evaluate.metrics: the kept checkpoint's CAMs on fixed images (cam-file.ts)
 *
 * The writer is used by engines; the reader by the CLI, the daemon, reports and
 * resume. Readers tolerate a truncated last line in events.jsonl (a process
 * killed mid-write, a full disk) and ignore it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Metrics, RunEvent, RunEventType } from '../protocol';
import { writeFileAtomic, writeJsonAtomic } from './atomic';

export const RUN_FILES = {
  experiment: 'experiment.sgt',
  resolved: 'resolved.json',
  events: 'events.jsonl',
  summary: 'summary.json',
  overlays: 'overlays',
  overlayIndex: 'overlays/index.json',
  checkpoints: 'checkpoints',
  /** CAMs of the kept checkpoint on the CAM probe, for `consistency` (runs/cam-file.ts). */
  cams: 'cams/probe.json',
} as const;

/** A run id: `<experiment>-<yyyymmdd-hhmmss>-<4 hex>`, sortable by time, unique without coordination. */
export function newRunId(experiment: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${experiment}-${stamp}-${crypto.randomBytes(2).toString('hex')}`;
}

/** Creates a run directory with its snapshot files; returns its path. */
export function createRunDir(runsDir: string, experiment: string, sgtText: string, resolved: unknown): string {
  fs.mkdirSync(runsDir, { recursive: true });
  const dir = path.join(runsDir, newRunId(experiment));
  fs.mkdirSync(dir);
  fs.mkdirSync(path.join(dir, RUN_FILES.overlays));
  fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints));
  writeFileAtomic(path.join(dir, RUN_FILES.experiment), sgtText);
  writeJsonAtomic(path.join(dir, RUN_FILES.resolved), resolved);
  fs.writeFileSync(path.join(dir, RUN_FILES.events), '');
  return dir;
}

export interface OverlayIndexEntry {
  epoch: number;
  step: number;
  files: string[];
}

const EVENT_TYPES: ReadonlySet<RunEventType> = new Set<RunEventType>(['started', 'step', 'epoch', 'overlay', 'checkpoint', 'log', 'finished', 'failed', 'cancelled']);

/** True for an object with a known event type; `null`, numbers or unknown types are damage, not events. */
export function isRunEvent(value: unknown): value is RunEvent {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && EVENT_TYPES.has(type as RunEventType);
}

/** One line of events.jsonl (or of an engine's stdout) as an event; undefined for anything else. */
export function parseEventLine(line: string): RunEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const e: unknown = JSON.parse(line);
    return isRunEvent(e) ? e : undefined;
  } catch {
    return undefined; // a partial line from an interrupted write, or plain output
  }
}

/** The events in a chunk of events.jsonl; a truncated or corrupt line (a killed writer) is skipped, never fatal. */
export function parseEventLines(text: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const line of text.split('\n')) {
    const e = parseEventLine(line);
    if (e) out.push(e);
  }
  return out;
}

/**
 * True when the file open at `fd` ends in a partial line (a writer killed mid-line):
 * the next append must start with a newline, so the partial line stays one corrupt
 * line (skipped by readers) instead of swallowing the new event.
 */
export function endsMidLine(fd: number): boolean {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  fs.readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

/** Appends events and writes artefacts of one run. Not safe for two writers at once (only one engine rank writes). */
export class RunWriter {
  private readonly eventsFd: number;

  constructor(readonly dir: string) {
    this.eventsFd = fs.openSync(path.join(dir, RUN_FILES.events), 'a+');
    if (endsMidLine(this.eventsFd)) fs.writeSync(this.eventsFd, '\n');
  }

  /** Appends one event as one line with one write(2), so a killed process leaves whole lines (or a truncated last one). */
  event(e: RunEvent): void {
    fs.writeSync(this.eventsFd, JSON.stringify(e) + '\n');
    // epoch boundaries and endings are worth a sync; per-step events are not
    if (e.type !== 'step' && e.type !== 'log') fs.fdatasyncSync(this.eventsFd);
  }

  /** Writes one overlay image and records it in the index (rewritten atomically). */
  overlay(epoch: number, step: number, pngs: Uint8Array[]): string[] {
    const rel = path.join(RUN_FILES.overlays, String(step).padStart(7, '0'));
    fs.mkdirSync(path.join(this.dir, rel), { recursive: true });
    const files = pngs.map((png, i) => {
      const f = path.join(rel, `${i}.png`);
      writeFileAtomic(path.join(this.dir, f), png);
      return f.split(path.sep).join('/');
    });
    const index = readOverlayIndex(this.dir);
    index.push({ epoch, step, files });
    writeJsonAtomic(path.join(this.dir, RUN_FILES.overlayIndex), index);
    return files;
  }

  /** Writes a checkpoint file atomically; returns its path relative to the run directory. */
  checkpoint(name: string, data: Uint8Array | string): string {
    const rel = path.join(RUN_FILES.checkpoints, name);
    writeFileAtomic(path.join(this.dir, rel), data);
    return rel.split(path.sep).join('/');
  }

  summary(value: unknown): void {
    writeJsonAtomic(path.join(this.dir, RUN_FILES.summary), value);
  }

  close(): void {
    fs.closeSync(this.eventsFd);
  }
}

// ---- reading ------------------------------------------------------------------------------

/** Events of a run; a truncated or corrupt line (a killed writer) is skipped, never fatal. */
export function readEvents(dir: string): RunEvent[] {
  try {
    return parseEventLines(fs.readFileSync(path.join(dir, RUN_FILES.events), 'utf8'));
  } catch {
    return [];
  }
}

/**
 * The events of a run as one consistent history: when a run was resumed from a
 * checkpoint at step S, the events the interrupted attempt wrote after S are
 * dropped (the resumed attempt recomputes them), so no metric is lost or counted twice.
 */
export function timeline(events: RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (const e of events) {
    if (e.type === 'started' && e.resumedFrom) {
      const keepUpTo = e.resumedFrom.step;
      for (let i = out.length - 1; i >= 0; i--) {
        const o = out[i];
        if ('step' in o && typeof o.step === 'number' && o.step > keepUpTo) out.splice(i, 1);
      }
    }
    out.push(e);
  }
  return out;
}

export function readOverlayIndex(dir: string): OverlayIndexEntry[] {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.overlayIndex), 'utf8')) as OverlayIndexEntry[];
  } catch {
    return [];
  }
}

export function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export type RunStatus = 'running' | 'finished' | 'failed' | 'cancelled' | 'interrupted';

export function readSummary(dir: string): unknown {
  return readJsonFile<unknown>(path.join(dir, RUN_FILES.summary));
}

/** The metrics a run stands for, and where they come from. */
export interface KeptMetrics {
  /** Per split. */
  metrics: Record<string, Metrics>;
  /** The epoch they belong to (undefined before the first epoch). */
  epoch?: number;
  /** `summary`: the checkpoint the run keeps; `last-epoch`: no summary (yet), the last recorded epoch. */
  source: 'summary' | 'last-epoch';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * THE metrics of a run, for every place that shows one result per run (reports, `sgt runs`,
 * `sgt train`'s result line, the CodeLens, the Runs view): those of the checkpoint it keeps
 * (summary.json `metrics` and `selectedEpoch`: the best validation epoch with `checkpoint =
 * best`, chosen without looking at the test split), else — a run without a summary, still
 * running or killed — its last recorded epoch's.
 */
export function keptMetrics(summary: unknown, lastEpoch: Record<string, Metrics>, lastEpochNumber?: number): KeptMetrics {
  if (isRecord(summary) && isRecord(summary.metrics)) {
    const metrics: Record<string, Metrics> = {};
    for (const [split, m] of Object.entries(summary.metrics)) if (isRecord(m)) metrics[split] = m as Metrics;
    if (Object.keys(metrics).length > 0) {
      // selectedEpoch: the engines' summaries; bestEpoch: summaries that predate it (always `checkpoint = best`)
      const epoch = [summary.selectedEpoch, summary.bestEpoch].find((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return { metrics, epoch, source: 'summary' };
    }
  }
  return { metrics: lastEpoch, epoch: lastEpochNumber, source: 'last-epoch' };
}

export interface RunInfo {
  id: string;
  dir: string;
  experiment: string;
  status: RunStatus;
  startedAt?: string;
  lastEpoch?: number;
  lastStep?: number;
  /** The run's result per split: keptMetrics() (the kept checkpoint's, else the last epoch's). */
  metrics: Record<string, Record<string, number>>;
  /** The epoch `metrics` belong to. */
  metricsEpoch?: number;
}

/**
 * Summarises a run from its events and summary.json. A run whose last event is not an
 * ending is `running` while `isAlive` says its writer lives, else `interrupted` (resumable).
 */
export function runInfo(dir: string, isAlive: (dir: string) => boolean = () => false): RunInfo {
  const events = timeline(readEvents(dir));
  const started = events.find((e) => e.type === 'started');
  const info: RunInfo = {
    id: path.basename(dir),
    dir,
    experiment: started?.type === 'started' ? started.experiment : path.basename(dir).replace(/-\d{8}-\d{6}-[0-9a-f]{4}$/, ''),
    status: 'interrupted',
    startedAt: started?.time,
    metrics: {},
  };
  const last: Record<string, Metrics> = {};
  for (const e of events) {
    if (e.type === 'epoch') {
      last[e.split] = e.metrics;
      info.lastEpoch = e.epoch;
      info.lastStep = e.step;
    } else if (e.type === 'step') {
      info.lastStep = e.step;
    } else if (e.type === 'finished' || e.type === 'failed' || e.type === 'cancelled') {
      info.status = e.type;
    }
  }
  const kept = keptMetrics(readSummary(dir), last, info.lastEpoch);
  info.metrics = kept.metrics;
  info.metricsEpoch = kept.epoch;
  if (info.status === 'interrupted' && isAlive(dir)) info.status = 'running';
  return info;
}

/** Run directories under a runs folder, newest first. */
export function listRunDirs(runsDir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(runsDir, e.name, RUN_FILES.resolved)))
    .map((e) => path.join(runsDir, e.name))
    .sort((a, b) => runSortKey(b).localeCompare(runSortKey(a)));
}

function runSortKey(dir: string): string {
  const m = /-(\d{8}-\d{6})-[0-9a-f]{4}$/.exec(path.basename(dir));
  return m ? m[1] : '';
}
