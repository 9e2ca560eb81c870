/**
 * The extension's one connection to the training daemon. It connects lazily: opening
 * a `.sgt` file only looks for a running daemon, a Run command starts one. The daemon
 * runs with a real Node: inside VS Code `process.execPath` is Electron, and
 * `connectDaemon` sets ELECTRON_RUN_AS_NODE=1 when it spawns under Electron (so
 * Electron behaves as Node, and the engines the daemon spawns with its own execPath
 * inherit that too).
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { connectDaemon, type DaemonClient } from '../../server/src/daemon/client';
import type { DaemonEventParams, DaemonJob } from '../../server/src/protocol';
import { idleTimeoutArgs } from './run-labels';
import { childEnvironment, idleTimeoutMinutes } from './settings';

export class DaemonConnection implements vscode.Disposable {
  private client: DaemonClient | undefined;
  private connecting: Promise<DaemonClient> | undefined;
  /** The jobs the daemon knows, by job id. */
  private readonly jobsById = new Map<string, DaemonJob>();
  private readonly jobsChanged = new vscode.EventEmitter<DaemonJob | undefined>();
  private readonly events = new vscode.EventEmitter<DaemonEventParams>();
  /** A job changed (undefined: the whole list, after a (dis)connect). */
  readonly onDidChangeJobs = this.jobsChanged.event;
  /** Every run event of every job. */
  readonly onDidEvent = this.events.event;

  constructor(
    private readonly daemonScript: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get connected(): boolean {
    return this.client !== undefined && !this.client.isClosed;
  }

  jobs(): DaemonJob[] {
    return [...this.jobsById.values()];
  }

  /** The newest job of a run directory. */
  jobFor(runDir: string): DaemonJob | undefined {
    let best: DaemonJob | undefined;
    for (const j of this.jobsById.values()) if (j.runDir === runDir && (!best || j.submittedAt > best.submittedAt)) best = j;
    return best;
  }

  isActive(runDir: string): boolean {
    const j = this.jobFor(runDir);
    return j !== undefined && (j.status === 'running' || j.status === 'queued');
  }

  /** The connected client; starts the daemon when `autoStart` and none answers. */
  async get(autoStart = true): Promise<DaemonClient> {
    if (this.client && !this.client.isClosed) return this.client;
    if (!this.connecting) {
      this.connecting = this.connect(autoStart).finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  /** Connects when a daemon is already running (never starts one); false when none is. */
  async tryExisting(): Promise<boolean> {
    try {
      await this.get(false);
      return true;
    } catch {
      return false;
    }
  }

  private async connect(autoStart: boolean): Promise<DaemonClient> {
    if (autoStart && !fs.existsSync(this.daemonScript)) throw new Error(`the daemon bundle is missing (${this.daemonScript}); rebuild the extension`);
    const client = await connectDaemon({
      autoStart,
      daemonCommand: { command: process.execPath, args: [this.daemonScript, ...idleTimeoutArgs(idleTimeoutMinutes())] },
      // a daemon started here runs torch jobs with saliencyStudio.python
      env: childEnvironment(),
    });
    if (client.startedDaemon) this.log.info(`started the training daemon (log: ${client.paths.log})`);
    else this.log.info(`connected to the training daemon (${client.paths.socket})`);
    client.onJobChanged((job) => {
      this.jobsById.set(job.id, job);
      this.log.info(`job ${job.id} ${job.experiment}: ${job.status}${job.error ? ` (${job.error})` : ''}`);
      this.jobsChanged.fire(job);
    });
    client.onEvent((params) => {
      const e = params.event;
      if (e.type === 'log') this.log[e.level === 'error' ? 'error' : e.level === 'warning' ? 'warn' : 'info'](`${params.runDir}: ${e.message}`);
      else if (e.type === 'failed') this.log.error(`${params.runDir}: failed: ${e.error}${e.detail ? `\n${e.detail}` : ''}`);
      // jobChanged comes only at starts and ends: live progress is followed from the step events
      const job = this.jobsById.get(params.jobId);
      if (job?.progress && (e.type === 'step' || e.type === 'epoch')) {
        const updated: DaemonJob = { ...job, progress: { ...job.progress, step: e.step, epoch: e.epoch } };
        this.jobsById.set(job.id, updated);
        this.jobsChanged.fire(updated);
      }
      this.events.fire(params);
    });
    client.onClose(() => {
      if (this.client === client) this.client = undefined;
      this.log.warn('the connection to the training daemon closed');
      this.jobsChanged.fire(undefined);
    });
    this.client = client;
    this.jobsById.clear();
    for (const j of await client.list()) this.jobsById.set(j.id, j);
    this.jobsChanged.fire(undefined);
    return client;
  }

  /** Stops the daemon (cancelling its jobs when `cancelJobs`) and starts a fresh one. */
  async restart(cancelJobs: boolean): Promise<void> {
    const client = await this.get(false).catch(() => undefined);
    if (client) {
      await client.shutdown({ cancelJobs });
      await waitUntil(() => client.isClosed, 10_000);
      this.client = undefined;
      // the daemon removes its socket as it exits: give it a moment before starting a new one
      await new Promise((r) => setTimeout(r, 300));
    }
    await this.get(true);
  }

  dispose(): void {
    this.client?.close();
    this.client = undefined;
    this.jobsChanged.dispose();
    this.events.dispose();
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
