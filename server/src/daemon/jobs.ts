/**
 * The daemon's jobs: validation of submissions, the queue, one EngineSupervisor per
 * running job, progress from the engine's events, and the notifications clients get.
 * Transport-free (server.ts wires it to JSON-RPC), so its rules are plain to test.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import {
  DAEMON_ERRORS,
  type DaemonCancelResult,
  type DaemonJob,
  type DaemonJobStatus,
  type DaemonListParams,
  type DaemonSubmitParams,
  type DaemonSubmitResult,
  type RunEvent,
} from '../protocol';
import { RUN_FILES, readJsonFile } from '../runs/run-dir';
import { ENGINE_NAMES, resolveEngineCommand } from './engine-command';
import { errorMessage, type Logger } from './log';
import { JobQueue } from './queue';
import { appendEvents } from './run-events';
import { EngineSupervisor } from './supervisor';

export interface JobManagerOptions {
  concurrency: number;
  cancelGraceMs: number;
  /** Environment of engine processes, and where engine command overrides are read. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  onEvent(jobId: string, runDir: string, event: RunEvent): void;
  onJobChanged(job: DaemonJob): void;
  /** Called whenever the number of queued + running jobs changes. */
  onActivityChanged?(): void;
}

/** Ended jobs the daemon remembers for `list`. */
const MAX_ENDED_JOBS = 100;

interface Job {
  info: DaemonJob;
  engine?: EngineSupervisor;
  /** Resolves when the job has ended (for shutdown). */
  ended: Promise<void>;
  markEnded(): void;
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: JobQueue<Job>;
  private accepting = true;

  constructor(private readonly options: JobManagerOptions) {
    this.queue = new JobQueue(options.concurrency, (job) => this.runJob(job));
  }

  submit(params: DaemonSubmitParams): DaemonSubmitResult {
    if (!this.accepting) throw new ResponseError(DAEMON_ERRORS.stopping, 'the daemon is shutting down and takes no new jobs');
    const runDir = checkRunDir(params?.runDir);
    const engine = params.engine;
    if (!ENGINE_NAMES.includes(engine)) throw new ResponseError(DAEMON_ERRORS.engineUnavailable, `unknown engine '${String(engine)}' (expected ${ENGINE_NAMES.join(' or ')})`);
    try {
      resolveEngineCommand(engine, runDir, false, this.options.env);
    } catch (err) {
      throw new ResponseError(DAEMON_ERRORS.engineUnavailable, errorMessage(err));
    }
    const busy = [...this.jobs.values()].find((j) => j.info.runDir === runDir && isActive(j.info.status));
    if (busy) throw new ResponseError(DAEMON_ERRORS.runBusy, `the run ${runDir} is already ${busy.info.status} (job ${busy.info.id})`);

    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const resolved = readJsonFile<{ name?: unknown }>(path.join(runDir, RUN_FILES.resolved));
    const job: Job = {
      info: {
        id: crypto.randomUUID(),
        runDir,
        experiment: typeof resolved?.name === 'string' ? resolved.name : path.basename(runDir),
        engine,
        resume: params.resume === true,
        status: 'queued',
        submittedAt: new Date().toISOString(),
      },
      ended,
      markEnded,
    };
    this.jobs.set(job.info.id, job);
    this.options.log.info(`job ${job.info.id} queued: ${runDir} (${engine}${job.info.resume ? ', resume' : ''})`);
    this.changed(job);
    const position = this.queue.enqueue(job);
    this.options.onActivityChanged?.();
    return { jobId: job.info.id, position, job: { ...job.info } };
  }

  list(params?: DaemonListParams): DaemonJob[] {
    const want = params?.runDir ? path.resolve(params.runDir) : undefined;
    const active = [...this.queue.runningItems, ...this.queue.waitingItems];
    const ended = [...this.jobs.values()].filter((j) => !isActive(j.info.status)).reverse();
    return [...active, ...ended].filter((j) => !want || j.info.runDir === want).map((j) => ({ ...j.info }));
  }

  cancel(jobId: string): DaemonCancelResult {
    const job = this.jobs.get(jobId);
    if (!job) throw new ResponseError(DAEMON_ERRORS.unknownJob, `no job ${String(jobId)}`);
    return { job: { ...job.info }, cancelling: this.cancelJob(job) };
  }

  /** Cancels every queued and running job; returns how many. */
  cancelAll(): number {
    let n = 0;
    for (const job of [...this.queue.waitingItems, ...this.queue.runningItems]) if (this.cancelJob(job)) n++;
    return n;
  }

  /** Takes no new jobs and starts no queued ones. */
  stopAccepting(): void {
    this.accepting = false;
    this.queue.pause();
  }

  /** Resolves when every running job has ended. */
  async drain(): Promise<void> {
    await Promise.all(this.queue.runningItems.map((j) => j.ended));
  }

  /** Queued + running jobs. */
  get active(): number {
    return this.queue.size;
  }

  counts(): Record<DaemonJobStatus, number> {
    const counts: Record<DaemonJobStatus, number> = { queued: 0, running: 0, finished: 0, failed: 0, cancelled: 0 };
    for (const j of this.jobs.values()) counts[j.info.status]++;
    return counts;
  }

  private cancelJob(job: Job): boolean {
    if (job.info.status === 'queued' && this.queue.remove(job)) {
      this.options.log.info(`job ${job.info.id} cancelled while queued`);
      const event: RunEvent = { time: new Date().toISOString(), type: 'cancelled' };
      this.writeEvent(job, event);
      this.end(job, 'cancelled');
      this.options.onActivityChanged?.();
      return true;
    }
    if (job.info.status === 'running' && job.engine) {
      if (!job.info.cancelRequested) {
        this.options.log.info(`job ${job.info.id} cancelling (engine ${job.engine.pid})`);
        job.info.cancelRequested = true;
        job.engine.cancel();
        this.changed(job);
      }
      return true;
    }
    return false;
  }

  private async runJob(job: Job): Promise<void> {
    const { info } = job;
    info.status = 'running';
    info.startedAt = new Date().toISOString();
    let command;
    try {
      if (!fs.statSync(info.runDir).isDirectory()) throw new Error(`${info.runDir} is not a directory`);
      command = resolveEngineCommand(info.engine, info.runDir, info.resume, this.options.env);
    } catch (err) {
      // the run directory vanished or the engine went away while the job waited
      const event: RunEvent = { time: new Date().toISOString(), type: 'failed', error: `the job could not start: ${errorMessage(err)}` };
      this.writeEvent(job, event);
      info.error = event.error;
      this.end(job, 'failed');
      return;
    }
    const engine = new EngineSupervisor({
      command,
      runDir: info.runDir,
      cancelGraceMs: this.options.cancelGraceMs,
      env: this.options.env,
      log: this.options.log,
      onEvent: (e) => this.onEngineEvent(job, e),
    });
    job.engine = engine;
    info.pid = engine.pid;
    this.options.log.info(`job ${info.id} started: ${[command.command, ...command.args].join(' ')} (pid ${engine.pid})`);
    this.changed(job);
    const outcome = await engine.done;
    info.exit = { code: outcome.code, signal: outcome.signal };
    if (outcome.ending.type === 'failed') info.error = outcome.ending.error;
    this.options.log.info(`job ${info.id} ${outcome.status} (exit code ${outcome.code}, signal ${outcome.signal})`);
    job.engine = undefined;
    this.end(job, outcome.status);
  }

  private onEngineEvent(job: Job, e: RunEvent): void {
    const { info } = job;
    if (e.type === 'started') {
      info.progress = { epoch: e.resumedFrom?.epoch ?? 0, epochs: e.epochs, step: e.resumedFrom?.step ?? 0, totalSteps: e.epochs * e.stepsPerEpoch };
    } else if ((e.type === 'step' || e.type === 'epoch') && info.progress) {
      info.progress.epoch = e.epoch;
      info.progress.step = e.step;
    }
    this.options.onEvent(info.id, info.runDir, e);
    if (e.type === 'started') this.changed(job);
  }

  /** Writes an event the daemon itself decided (a queued job cancelled, a job that could not start) and forwards it. */
  private writeEvent(job: Job, event: RunEvent): void {
    try {
      appendEvents(job.info.runDir, [event]);
    } catch (err) {
      this.options.log.error(`cannot write the ${event.type} event of ${job.info.runDir}: ${errorMessage(err)}`);
    }
    this.options.onEvent(job.info.id, job.info.runDir, event);
  }

  private end(job: Job, status: DaemonJobStatus): void {
    job.info.status = status;
    job.info.endedAt = new Date().toISOString();
    job.info.pid = undefined;
    this.changed(job);
    job.markEnded();
    this.forgetOldJobs();
    // the queue frees the slot once runJob's promise settles; report activity after that
    setImmediate(() => this.options.onActivityChanged?.());
  }

  private changed(job: Job): void {
    try {
      this.options.onJobChanged({ ...job.info });
    } catch (err) {
      this.options.log.error(`jobChanged handler failed: ${errorMessage(err)}`);
    }
  }

  private forgetOldJobs(): void {
    const ended = [...this.jobs.values()].filter((j) => !isActive(j.info.status));
    for (const j of ended.slice(0, Math.max(0, ended.length - MAX_ENDED_JOBS))) this.jobs.delete(j.info.id);
  }
}

function isActive(status: DaemonJobStatus): boolean {
  return status === 'queued' || status === 'running';
}

function checkRunDir(runDir: unknown): string {
  if (typeof runDir !== 'string' || !path.isAbsolute(runDir)) {
    throw new ResponseError(DAEMON_ERRORS.invalidRun, `runDir must be an absolute path, not ${JSON.stringify(runDir)}`);
  }
  const dir = path.resolve(runDir);
  const resolved = path.join(dir, RUN_FILES.resolved);
  if (!fs.existsSync(resolved)) throw new ResponseError(DAEMON_ERRORS.invalidRun, `${dir} is not a run directory (no ${RUN_FILES.resolved})`);
  return dir;
}
