/**
 * The client's logic that needs no VS Code: which experiment the cursor is in, the
 * CodeLens text of an experiment's last run, tree item labels, progress text.
 * Kept free of `vscode` imports so mocha tests load it directly.
 */
import * as path from 'node:path';
import { parse } from '../../server/src/dsl/parser';
import { analyze } from '../../server/src/dsl/validate';
import type { DaemonJob, DaemonJobStatus } from '../../server/src/protocol';
import type { RunInfo, RunStatus } from '../../server/src/runs/run-dir';

export interface ExperimentRange {
  name: string;
  /** Character offsets of the whole `experiment … { … }`. */
  start: number;
  end: number;
  /** Offsets of its name (where the CodeLens anchors). */
  nameStart: number;
  nameEnd: number;
}

/** The named experiments of a file, in file order (an unnamed `experiment` being typed is skipped). */
export function experimentRanges(text: string): ExperimentRange[] {
  const out: ExperimentRange[] = [];
  for (const e of parse(text).file.experiments) {
    if (!e.name) continue;
    out.push({ name: e.name.name, start: e.start, end: e.end, nameStart: e.name.start, nameEnd: e.name.end });
  }
  return out;
}

/**
 * The runs of each sweep of a file (dsl/sweep.ts): experiment name → run names, in the
 * order `sgt train` trains them. Experiments without a sweep are not in the map. The text
 * is analysed without a file path, so no data folder is read.
 */
export function sweepRuns(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of analyze(text).experiments.values()) if (m.runs) out.set(m.name, m.runs.map((r) => r.name));
  return out;
}

/** `▶ Run sweep (6 runs)` for a sweep, `▶ Run` otherwise. */
export function runLensTitle(runs: readonly string[] | undefined): string {
  if (!runs) return '▶ Run';
  return `▶ Run sweep (${runs.length} run${runs.length === 1 ? '' : 's'})`;
}

/** What the newest runs of a sweep's runs are doing: `4/6 finished · 1 running · 1 failed`; undefined before any ran. */
export function sweepLensText(total: number, statuses: ReadonlyArray<RunStatus | DaemonJobStatus>): string | undefined {
  if (statuses.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  const finished = counts.get('finished') ?? 0;
  counts.delete('finished');
  return [`${finished}/${total} finished`, ...[...counts].map(([s, n]) => `${n} ${s}`)].join(' · ');
}

/** The experiment whose text holds the offset (ends inclusive, so a cursor just after `}` still counts). */
export function experimentAt(text: string, offset: number): string | undefined {
  return experimentRanges(text).find((r) => offset >= r.start && offset <= r.end)?.name;
}

/** The experiment of a run id (`<experiment>-<yyyymmdd-hhmmss>-<4 hex>`, run-dir.ts newRunId), without reading its files. */
export function experimentOfRunId(id: string): string {
  return id.replace(/-\d{8}-\d{6}-[0-9a-f]{4}$/, '');
}

/** The newest run directory of each wanted experiment, from directories ordered newest first. */
export function newestRunDirs(dirs: readonly string[], wanted: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of dirs) {
    const name = experimentOfRunId(path.basename(d));
    if (wanted.has(name) && !out.has(name)) out.set(name, d);
  }
  return out;
}

/** A metric value as people read it: 3 significant digits at most. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number(value.toPrecision(3)).toString();
}

/** Metrics shown first, in this order, as short names. */
const HEADLINE: ReadonlyArray<[string, string]> = [
  ['accuracy', 'acc'],
  // Pearson correlation of model CAM and human map: "how well the model looks where people look"
  ['saliency_corr', 'agreement'],
  ['auc', 'auc'],
  ['loss', 'loss'],
];

/**
 * `val acc 0.97 · agreement 0.71 (epoch 3)`: the run's result (run-dir.ts keptMetrics: the kept
 * checkpoint's metrics, else the last epoch's) of the preferred split (val, else test, else train).
 */
export function resultText(info: RunInfo, maxMetrics = 2): string | undefined {
  const split = ['val', 'test', 'train'].find((s) => info.metrics[s] && Object.keys(info.metrics[s]).length > 0);
  if (!split) return undefined;
  const metrics = info.metrics[split];
  const parts: string[] = [];
  for (const [key, short] of HEADLINE) {
    if (parts.length >= maxMetrics) break;
    if (typeof metrics[key] === 'number') parts.push(`${short} ${formatMetric(metrics[key])}`);
  }
  if (parts.length === 0) {
    for (const [k, v] of Object.entries(metrics).slice(0, maxMetrics)) parts.push(`${k} ${formatMetric(v)}`);
  }
  return `${split} ${parts.join(' · ')}${info.metricsEpoch !== undefined ? ` (epoch ${info.metricsEpoch})` : ''}`;
}

/** The CodeLens title that follows `▶ Run · Dashboard`: the last result, or what the last run is doing. */
export function lastRunLensText(info: RunInfo | undefined, job?: DaemonJob): string | undefined {
  if (job && (job.status === 'running' || job.status === 'queued')) return progressText(job);
  if (!info) return undefined;
  const result = resultText(info);
  switch (info.status) {
    case 'finished':
      return result ?? 'finished';
    case 'running':
      return `running${info.lastEpoch !== undefined ? ` · epoch ${info.lastEpoch}` : ''}`;
    default:
      return `last run ${info.status}${result ? ` · ${result}` : ''}`;
  }
}

/** `epoch 2/5 · step 120/300 (40%)` for a running job; `queued` for a waiting one. */
export function progressText(job: DaemonJob): string {
  if (job.status === 'queued') return 'queued';
  const p = job.progress;
  if (!p || p.totalSteps <= 0) return job.status === 'running' ? 'starting…' : job.status;
  const pct = Math.min(100, Math.floor((p.step / p.totalSteps) * 100));
  // before its first step a job reports epoch 0: it is in the first epoch
  return `epoch ${Math.max(p.epoch, 1)}/${p.epochs} · step ${p.step}/${p.totalSteps} (${pct}%)`;
}

/** Fraction done (0..1) of a running job, when known. */
export function progressFraction(job: DaemonJob): number | undefined {
  const p = job.progress;
  if (!p || p.totalSteps <= 0) return undefined;
  return Math.max(0, Math.min(1, p.step / p.totalSteps));
}

/** A codicon id for a run or job status. */
export function statusIcon(status: RunStatus | DaemonJobStatus): string {
  switch (status) {
    case 'running':
      return 'sync~spin';
    case 'queued':
      return 'clock';
    case 'finished':
      return 'pass';
    case 'failed':
      return 'error';
    case 'cancelled':
      return 'circle-slash';
    case 'interrupted':
      return 'debug-pause';
  }
}

export interface RunItemText {
  label: string;
  description: string;
  tooltip: string;
}

/** A Runs view row: the experiment, then status / live progress / result, then the run id in the tooltip. */
export function runItemText(info: RunInfo, job?: DaemonJob): RunItemText {
  const live = job && (job.status === 'running' || job.status === 'queued');
  const status = live ? progressText(job) : info.status;
  const result = resultText(info);
  const when = info.startedAt ? info.startedAt.replace('T', ' ').slice(0, 16) : '';
  const description = [status, !live ? result : undefined, when].filter(Boolean).join(' · ');
  return { label: info.experiment, description, tooltip: `${info.id}\n${info.dir}${result ? `\n${result}` : ''}` };
}

/** The status a row shows: a job the daemon knows beats what the files say. */
export function effectiveStatus(info: RunInfo, job?: DaemonJob): RunStatus | DaemonJobStatus {
  if (job && (job.status === 'running' || job.status === 'queued')) return job.status;
  return info.status;
}

/** The runs folder: the setting, relative to the workspace folder unless absolute. */
export function resolveRunsFolder(workspaceFolder: string, setting: string | undefined): string {
  const value = setting?.trim() || path.join('.sgt', 'runs');
  return path.resolve(workspaceFolder, value);
}

export type EngineSetting = 'auto' | 'tfjs' | 'torch';

/** The engine a run uses: the file's choice, unless the setting names one. */
export function engineFor(fromFile: 'tfjs' | 'torch', setting: EngineSetting | undefined): 'tfjs' | 'torch' {
  return setting === 'tfjs' || setting === 'torch' ? setting : fromFile;
}

/** The daemon's `--idle-timeout` in seconds from the minutes setting; undefined keeps the daemon's default. */
export function idleTimeoutArgs(minutes: number | undefined): string[] {
  if (minutes === undefined || !Number.isFinite(minutes) || minutes < 0) return [];
  return ['--idle-timeout', String(Math.round(minutes * 60))];
}

/** `report.html` for one run (in its folder); `report-<n>-runs-<stamp>.html` for several (in the runs folder). */
export function reportFileName(runs: number, now = new Date()): string {
  if (runs <= 1) return 'report.html';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `report-${runs}-runs-${stamp}.html`;
}

/** `base` with SGT_PYTHON = python (unchanged when python is undefined): how `saliencyStudio.python` reaches the processes the extension starts. */
export function withPython(base: NodeJS.ProcessEnv, python: string | undefined): NodeJS.ProcessEnv {
  return python === undefined ? base : { ...base, SGT_PYTHON: python };
}
