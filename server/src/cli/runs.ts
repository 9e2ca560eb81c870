/**
 * `sgt runs [--runs-dir DIR] [--format json]`: the runs of a workspace, newest
 * first, with their status and headline numbers.
 *
 * A run without an ending event is `running` while the daemon runs it, or while
 * its events file changed within the last two minutes (a foreground `sgt train`);
 * otherwise it is `interrupted` (killed, resumable with `sgt train --resume`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectDaemon } from '../daemon/client';
import { formatDuration, formatMetric } from '../report/format';
import { loadRun, type RunData } from '../report/load';
import { listRunDirs, RUN_FILES, type RunStatus } from '../runs/run-dir';
import { EXIT_OK } from './errors';
import type { CliIO } from './program';
import { defaultRunsDir } from './report-command';
import { styleFor, type Style } from './report';

export interface RunsFlags {
  runsDir?: string;
  format: 'text' | 'json';
}

/** How recently a foreground run must have written an event to count as running. */
const ACTIVE_MS = 2 * 60_000;
/** How long `sgt runs` waits for a daemon that holds its socket but does not answer. */
const DAEMON_WAIT_MS = 2000;

export interface RunRow {
  id: string;
  dir: string;
  experiment: string;
  status: RunStatus;
  epoch: number;
  epochs?: number;
  step: number;
  startedAt?: string;
  durationSeconds?: number;
  bestEpoch?: number;
  /** The run's result per split: the kept checkpoint's metrics (run-dir.ts keptMetrics), else the last epoch's. */
  metrics: Record<string, Record<string, number>>;
  /** The epoch of `metrics`. */
  keptEpoch?: number;
  error?: string;
}

export async function runsCommand(flags: RunsFlags, io: CliIO): Promise<number> {
  const runsDir = path.resolve(io.cwd, flags.runsDir ?? defaultRunsDir());
  const dirs = listRunDirs(runsDir);
  const daemonRunning = dirs.length ? await runningInDaemon(io.env) : new Set<string>();
  const rows = dirs.map((d) => toRow(loadRun(d), daemonRunning));
  if (flags.format === 'json') {
    io.stdout.write(JSON.stringify({ runsDir, runs: rows }, null, 2) + '\n');
    return EXIT_OK;
  }
  if (rows.length === 0) {
    io.stderr.write(`no runs in ${runsDir}\n`);
    return EXIT_OK;
  }
  io.stdout.write(formatRunsTable(rows, styleFor(io.stdout, io.env)));
  return EXIT_OK;
}

export function toRow(run: RunData, daemonRunning: ReadonlySet<string> = new Set()): RunRow {
  let status = run.status;
  if (status === 'interrupted' && (daemonRunning.has(run.dir) || recentlyWritten(run.dir))) status = 'running';
  return {
    id: run.id,
    dir: run.dir,
    experiment: run.experiment,
    status,
    epoch: run.epochs.at(-1)?.epoch ?? 0,
    epochs: run.lastStarted?.epochs,
    step: run.steps.at(-1)?.step ?? 0,
    startedAt: run.started?.time,
    durationSeconds: run.durationSeconds,
    bestEpoch: run.bestEpoch,
    metrics: run.kept,
    keptEpoch: run.keptEpoch,
    ...(run.ending?.type === 'failed' ? { error: run.ending.error } : {}),
  };
}

function recentlyWritten(dir: string): boolean {
  try {
    return Date.now() - fs.statSync(path.join(dir, RUN_FILES.events)).mtimeMs < ACTIVE_MS;
  } catch {
    return false;
  }
}

/** Run directories the daemon is running now; empty when no daemon answers (it is never started for this). */
async function runningInDaemon(env: NodeJS.ProcessEnv): Promise<Set<string>> {
  const ask = async (): Promise<Set<string>> => {
    const client = await connectDaemon({ env });
    try {
      const jobs = await client.list();
      return new Set(jobs.filter((j) => j.status === 'running').map((j) => j.runDir));
    } finally {
      client.close();
    }
  };
  const timeout = new Promise<Set<string>>((resolve) => setTimeout(() => resolve(new Set()), DAEMON_WAIT_MS).unref());
  return Promise.race([ask().catch(() => new Set<string>()), timeout]);
}

// KEPT: the epoch whose metrics the row shows (the kept checkpoint's)
const HEADERS = ['RUN', 'EXPERIMENT', 'STATUS', 'EPOCHS', 'KEPT', 'VAL ACC', 'TEST ACC', 'SAL CORR', 'TIME'];

export function formatRunsTable(rows: RunRow[], style: Style): string {
  const cells = rows.map((r) => {
    const sal = r.metrics.test?.saliency_corr ?? r.metrics.val?.saliency_corr;
    return [
      r.id,
      r.experiment,
      r.status,
      `${r.epoch}/${r.epochs ?? '?'}`,
      r.keptEpoch === undefined ? '–' : String(r.keptEpoch),
      formatMetric('accuracy', r.metrics.val?.accuracy),
      formatMetric('accuracy', r.metrics.test?.accuracy),
      formatMetric('saliency_corr', sal),
      r.durationSeconds === undefined ? '–' : formatDuration(r.durationSeconds),
    ].map(safe);
  });
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8]);
  const line = (c: string[]) =>
    c
      .map((v, i) => (numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const colour = (status: string, text: string) => (status === 'failed' ? style.red(text) : status === 'interrupted' ? style.yellow(text) : status === 'running' ? style.cyan(text) : text);
  const out = [style.bold(line(HEADERS))];
  cells.forEach((c, i) => {
    const text = line(c);
    // colour only the status column, keeping the alignment computed on plain text
    const start = widths[0] + widths[1] + 4;
    out.push(text.slice(0, start) + colour(rows[i].status, text.slice(start, start + widths[2])) + text.slice(start + widths[2]));
  });
  return out.join('\n') + '\n';
}

/** Run files are data, not terminal commands: control characters are shown escaped. */
function safe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return String(s).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
