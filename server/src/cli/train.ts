/**
 * `sgt train <file.sgt>`: trains the experiments of a file (all of them in file
 * order, or those named with --experiment), one run directory each, showing
 * progress on stderr and the final numbers on stdout.
 *
 * By default the runs go to the training daemon (started on demand), so they
 * survive the terminal: this command follows them, Ctrl-C cancels them, a closed
 * terminal (SIGHUP) only stops the following, and `--detach` does not follow at all.
 * `--foreground` runs the engine as a child of this process instead (no daemon: CI
 * jobs, cluster batch scripts, debugging); Ctrl-C sends it SIGTERM and waits, a
 * second Ctrl-C kills it. `--resume <run>` continues an interrupted run from its
 * last checkpoint. A run that fails does not stop the next experiment.
 *
 * Exit status: 0 every run finished (or was handed over with --detach), 1 a run
 * failed, 2 bad usage or an invalid experiment (diagnostics printed as by `sgt
 * check`), 130 interrupted or cancelled.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { version } from '../../../package.json';
import { connectDaemon, type DaemonClient } from '../daemon/client';
import type { EngineName } from '../engines/contract';
import type { DaemonJob } from '../protocol';
import { formatDuration } from '../report/format';
import { loadRun } from '../report/load';
import { findRunDir, RunNotFoundError, writeReport } from '../report/report';
import { RUN_FILES } from '../runs/run-dir';
import { createRun, engineCommandFor, planRuns, resumableRun, runEngine, RunSetupError, type EngineChoice, type PlannedRun } from '../runs/start-run';
import { workspaceFor } from './check';
import { describeFsError, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError } from './errors';
import type { CliIO, SignalSource } from './program';
import { formatMetrics, TrainingProgress } from './progress';
import { defaultRunsDir, positiveInt } from './report-command';
import { formatSummary, formatText, styleFor, type Style } from './report';

export interface TrainFlags {
  experiment?: string[];
  epochs?: string;
  runsDir?: string;
  foreground?: boolean;
  detach?: boolean;
  resume?: string;
  report?: string;
  verbose?: boolean;
  /** Python interpreter for the torch engine (sets SGT_PYTHON for this command's engines). */
  python?: string;
}

export const EXIT_INTERRUPTED = 130;

/** One run to train: a new run directory (created when its turn comes) or one to resume. */
interface Target {
  experiment: string;
  engine: EngineChoice;
  resume: boolean;
  /** Set for resumed runs, and once a new run's directory exists. */
  runDir?: string;
  planned?: PlannedRun;
}

interface RunResult {
  target: Target;
  status: 'finished' | 'failed' | 'cancelled' | 'not started' | 'submitted';
  error?: string;
  detail?: string;
  stderrTail?: string[];
}

interface Context {
  io: CliIO;
  flags: TrainFlags;
  runsDir: string;
  sgtText: string;
  err: Style;
  /** Set by the first interrupt (Ctrl-C, SIGTERM, a closed terminal). */
  interrupted: boolean;
}

export async function trainCommand(file: string | undefined, flags: TrainFlags, io: CliIO): Promise<number> {
  if (flags.python) io = { ...io, env: { ...io.env, SGT_PYTHON: flags.python.includes('/') ? path.resolve(io.cwd, flags.python) : flags.python } };
  const err = styleFor(io.stderr, io.env);
  const runsDir = path.resolve(io.cwd, flags.runsDir ?? defaultRunsDir());
  const epochs = flags.epochs === undefined ? undefined : positiveInt(flags.epochs, '--epochs');
  if (flags.detach && flags.foreground) throw new UsageError('--detach and --foreground exclude each other: a foreground run ends with this command');

  let targets: Target[];
  let sgtText = '';
  if (flags.resume !== undefined) {
    if (file !== undefined) throw new UsageError(`--resume continues a run from its own snapshot; leave out the file ('${file}')`);
    if (epochs !== undefined || flags.experiment?.length) throw new UsageError('--epochs and --experiment cannot change a run that is resumed');
    let dir: string;
    try {
      dir = findRunDir(flags.resume, io.cwd, runsDir);
    } catch (e) {
      if (e instanceof RunNotFoundError) throw new UsageError(e.message);
      throw e;
    }
    const run = setup(() => resumableRun(dir));
    targets = [{ experiment: run.experiment, engine: run.engine, resume: true, runDir: dir }];
  } else {
    if (file === undefined) throw new UsageError('name the .sgt file to train (or --resume <run>)');
    const abs = path.resolve(io.cwd, file);
    try {
      sgtText = fs.readFileSync(abs, 'utf8').replace(/^\uFEFF/, '');
    } catch (e) {
      throw new UsageError(`cannot read '${file}': ${describeFsError(e)}`);
    }
    const plan = setup(() => planRuns({ file: abs, text: sgtText, experiments: flags.experiment, epochs, workspaceRoot: workspaceFor(abs, io.cwd), env: io.env }));
    const shown = plan.diagnostics.filter((d) => d.severity !== 'info');
    if (shown.length) io.stderr.write(formatText([{ file, diagnostics: shown }], err));
    if (!plan.ok) {
      const errors = plan.diagnostics.filter((d) => d.severity === 'error').length;
      io.stderr.write(formatSummary({ errors, warnings: plan.diagnostics.filter((d) => d.severity === 'warning').length, files: 1 }, err));
      io.stderr.write(`sgt: not training: ${file} has ${errors === 1 ? 'an error' : 'errors'} (see above; \`sgt check\` reports the same)\n`);
      return EXIT_USAGE;
    }
    targets = plan.runs.map((p) => ({ experiment: p.experiment, engine: p.engine, resume: false, planned: p }));
  }

  const ctx: Context = { io, flags, runsDir, sgtText, err, interrupted: false };
  const results = flags.foreground ? await trainInForeground(targets, ctx) : await trainInDaemon(targets, ctx);
  printResults(results, ctx);

  const made = results.map((r) => r.target.runDir).filter((d): d is string => d !== undefined);
  if (flags.report && made.length) {
    const out = path.resolve(io.cwd, flags.report);
    writeReport(made, out, { generator: `sgt ${version}` });
    io.stderr.write(`report: ${display(out, io.cwd)}\n`);
  }
  if (ctx.interrupted || results.some((r) => r.status === 'cancelled')) return EXIT_INTERRUPTED;
  if (results.some((r) => r.status === 'failed')) return EXIT_PROBLEMS;
  return EXIT_OK;
}

/** Runs bad setup through the CLI's usage-error path (exit 2, one line per problem). */
function setup<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RunSetupError) throw new UsageError(e.message);
    throw e;
  }
}

function announce(t: Target, ctx: Context, how: string): void {
  const { io, err } = ctx;
  io.stderr.write(`${err.bold(t.experiment)}: ${t.resume ? 'resuming' : 'training'} ${how} with the ${t.engine.engine} engine (${t.engine.reason})\n`);
  io.stderr.write(`${err.dim(`  run: ${display(t.runDir!, io.cwd)}`)}\n`);
}

function newProgress(t: Target, ctx: Context): TrainingProgress {
  const interval = Number(ctx.io.env.SGT_PROGRESS_INTERVAL);
  return new TrainingProgress(t.experiment, ctx.io.stderr, { style: ctx.err, intervalMs: Number.isFinite(interval) && interval >= 0 ? interval * 1000 : undefined });
}

// ---- foreground: the engine runs as our child -----------------------------------------------

async function trainInForeground(targets: Target[], ctx: Context): Promise<RunResult[]> {
  const { io } = ctx;
  // an engine that cannot start here fails the command before any run directory is made
  for (const engine of new Set<EngineName>(targets.map((t) => t.engine.engine))) setup(() => engineCommandFor(engine, '<run-dir>', false, io.env));

  const results: RunResult[] = [];
  let current: ReturnType<typeof runEngine> | undefined;
  let interrupts = 0;
  const stop = (io.signals ?? processSignals).on((signal) => {
    interrupts++;
    ctx.interrupted = true;
    if (interrupts === 1) {
      io.stderr.write(`\nsgt: ${signal}: stopping the engine (it saves nothing more and exits); press Ctrl-C again to kill it at once\n`);
      current?.cancel();
    } else {
      current?.kill();
    }
  });
  try {
    for (const t of targets) {
      if (ctx.interrupted) {
        results.push({ target: t, status: 'not started' });
        continue;
      }
      if (!t.runDir) t.runDir = createRun(t.planned!, ctx.runsDir, ctx.sgtText);
      announce(t, ctx, 'in the foreground');
      const progress = newProgress(t, ctx);
      current = runEngine({
        runDir: t.runDir,
        engine: t.engine.engine,
        resume: t.resume,
        env: io.env,
        onEvent: (e) => progress.event(e),
        onOutput: ctx.flags.verbose ? (line) => progress.line(ctx.err.dim(`${t.experiment} | ${line}`)) : undefined,
      });
      const outcome = await current.done;
      current = undefined;
      progress.end();
      const ending = outcome.ending;
      results.push({
        target: t,
        status: outcome.status,
        ...(ending.type === 'failed' ? { error: ending.error, detail: ending.detail } : {}),
        stderrTail: outcome.stderrTail,
      });
    }
  } finally {
    stop();
  }
  return results;
}

// ---- through the daemon: runs outlive this command ------------------------------------------

async function trainInDaemon(targets: Target[], ctx: Context): Promise<RunResult[]> {
  const { io } = ctx;
  let client: DaemonClient;
  try {
    client = await connectDaemon({ autoStart: true, env: io.env });
  } catch (e) {
    throw new UsageError(`cannot reach the training daemon: ${e instanceof Error ? e.message : String(e)}\nuse --foreground to train in this process instead`);
  }
  if (client.startedDaemon) io.stderr.write(ctx.err.dim('sgt: started the training daemon (`sgt daemon status` shows it)\n'));
  const results: RunResult[] = [];
  try {
    for (const t of targets) if (!t.runDir) t.runDir = createRun(t.planned!, ctx.runsDir, ctx.sgtText);
    const progress = new Map(targets.map((t) => [t.runDir!, newProgress(t, ctx)]));
    if (!ctx.flags.detach) {
      try {
        await client.subscribe({ runDirs: [...progress.keys()] });
      } catch (e) {
        throw new UsageError(`the training daemon stopped answering: ${e instanceof Error ? e.message : String(e)}`);
      }
      client.onEvent(({ runDir, event }) => progress.get(runDir)?.event(event));
    }
    const jobs: Array<{ target: Target; jobId?: string; error?: string }> = [];
    for (const t of targets) {
      try {
        const submitted = await client.submit({ runDir: t.runDir!, engine: t.engine.engine, resume: t.resume });
        announce(t, ctx, 'in the daemon');
        if (submitted.position > 0) io.stderr.write(ctx.err.dim(`  queued: ${submitted.position} job${submitted.position === 1 ? '' : 's'} ahead of it\n`));
        jobs.push({ target: t, jobId: submitted.jobId });
      } catch (e) {
        const message = e instanceof ResponseError || e instanceof Error ? e.message : String(e);
        jobs.push({ target: t, error: `the daemon did not take the run: ${message}` });
        if (!t.resume) removeUnstartedRun(t.runDir!);
        t.runDir = t.resume ? t.runDir : undefined;
      }
    }
    if (ctx.flags.detach) {
      for (const j of jobs) results.push(j.jobId ? { target: j.target, status: 'submitted' } : { target: j.target, status: 'failed', error: j.error });
      return results;
    }

    // Ctrl-C cancels the jobs of this command; a second one stops waiting (the daemon still finishes cancelling)
    let interrupts = 0;
    let stopWaiting!: () => void;
    const gaveUp = new Promise<void>((resolve) => (stopWaiting = resolve));
    const stop = (io.signals ?? processSignals).on((signal) => {
      if (signal === 'SIGHUP') {
        // the terminal went away: the runs go on in the daemon, which is what it is for
        stopWaiting();
        return;
      }
      interrupts++;
      ctx.interrupted = true;
      if (interrupts === 1) {
        io.stderr.write(`\nsgt: ${signal}: cancelling the runs of this command in the daemon; press Ctrl-C again to stop waiting\n`);
        for (const j of jobs) if (j.jobId) client.cancel(j.jobId).catch(() => undefined);
      } else stopWaiting();
    });
    try {
      for (const j of jobs) {
        const bar = progress.get(j.target.runDir ?? '');
        if (!j.jobId) {
          results.push({ target: j.target, status: 'failed', error: j.error });
          continue;
        }
        const job = await Promise.race([client.waitForJob(j.jobId).catch((e: unknown) => lostJob(e)), gaveUp.then(() => undefined)]);
        bar?.end();
        if (!job) {
          results.push(ctx.interrupted ? { target: j.target, status: 'cancelled', error: 'stopped waiting; the daemon is cancelling it' } : { target: j.target, status: 'submitted' });
          continue;
        }
        results.push(resultOfJob(j.target, job));
      }
    } finally {
      stop();
    }
    return results;
  } finally {
    client.close();
  }
}

function lostJob(e: unknown): DaemonJob {
  return { status: 'failed', error: `lost track of the run: ${e instanceof Error ? e.message : String(e)}` } as DaemonJob;
}

function resultOfJob(target: Target, job: DaemonJob): RunResult {
  const status = job.status === 'finished' || job.status === 'failed' || job.status === 'cancelled' ? job.status : 'failed';
  if (status !== 'failed') return { target, status };
  const failed = target.runDir ? loadRun(target.runDir).ending : undefined;
  return { target, status, error: job.error ?? (failed?.type === 'failed' ? failed.error : 'the run failed'), detail: failed?.type === 'failed' ? failed.detail : undefined };
}

/** A run directory made for a job the daemon refused holds nothing but its snapshot. */
export function removeUnstartedRun(dir: string): void {
  try {
    if (fs.readFileSync(path.join(dir, RUN_FILES.events), 'utf8') === '') fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // leave it: `sgt runs` shows it as never started
  }
}

// ---- results --------------------------------------------------------------------------------

function printResults(results: RunResult[], ctx: Context): void {
  const { io, err } = ctx;
  const out = styleFor(io.stdout, io.env);
  for (const r of results) {
    const t = r.target;
    if (r.status === 'failed') {
      io.stderr.write(`${err.red('sgt:')} ${t.experiment} failed: ${r.error ?? 'no reason given'}\n`);
      if (r.detail) io.stderr.write(indent(lastLines(r.detail, 20)));
      const tail = (r.stderrTail ?? []).filter((l) => !r.detail?.includes(l));
      if (tail.length) io.stderr.write(`  engine stderr (last ${Math.min(tail.length, 20)} lines):\n${indent(tail.slice(-20).join('\n'), '    ')}`);
    }
    let line = `${out.bold(t.experiment)}: ${colourStatus(r.status, out)}`;
    if (t.runDir && r.status !== 'submitted' && r.status !== 'not started') {
      const run = loadRun(t.runDir);
      if (run.durationSeconds !== undefined) line += ` in ${formatDuration(run.durationSeconds)}`;
      // the numbers of the checkpoint the run keeps (its best validation epoch), as summary.json and reports give them
      const splits = ['val', 'test'].filter((s) => run.kept[s]);
      const metrics = splits.map((s) => `${s}: ${formatMetrics(run.kept[s])}`).join('; ');
      if (metrics) line += ` — ${run.keptEpoch !== undefined && run.kept !== run.final ? `epoch ${run.keptEpoch}: ` : ''}${metrics}`;
    } else if (r.status === 'submitted') line += ' to the daemon (`sgt runs` follows it)';
    io.stdout.write(`${line}\n`);
    if (t.runDir) io.stdout.write(`  ${display(t.runDir, io.cwd)}\n`);
  }
}

function colourStatus(status: RunResult['status'], style: Style): string {
  return status === 'failed' ? style.red(status) : status === 'cancelled' || status === 'not started' ? style.yellow(status) : status;
}

function indent(text: string, prefix = '  '): string {
  return (
    text
      .split('\n')
      .map((l) => `${prefix}${l}`)
      .join('\n') + '\n'
  );
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  return lines.length > n ? ['…', ...lines.slice(-n)].join('\n') : text;
}

/** A path as short as is unambiguous: relative inside the current directory, absolute outside it. */
function display(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

// ---- signals ----------------------------------------------------------------------------

/** The real process's interrupts: Ctrl-C, `kill`, and a terminal that went away. */
export const processSignals: SignalSource = {
  on(handler) {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const listeners = signals.map((s) => {
      const l = () => handler(s);
      process.on(s, l);
      return [s, l] as const;
    });
    return () => {
      for (const [s, l] of listeners) process.removeListener(s, l);
    };
  },
};
