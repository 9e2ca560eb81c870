/**
 * How clients (the extension, `sgt`) talk to the daemon: connect to its socket, or
 * start it on demand (detached, in its own session, logging to daemon.log) and wait
 * until it answers. The helpers are thin, typed wrappers of the protocol module's
 * messages.
 *
 *   const daemon = await connectDaemon({ autoStart: true });
 *   const { jobId } = await daemon.submit({ runDir, engine: 'tfjs' });
 *   daemon.onEvent(({ event }) => …);
 *   const job = await daemon.waitForJob(jobId);
 *   daemon.close();
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type Disposable, type MessageConnection } from 'vscode-jsonrpc/node';
import { distDir, type EngineCommand } from '../engines/contract';
import {
  DaemonCancelRequest,
  DaemonEventNotification,
  DaemonJobChangedNotification,
  DaemonListRequest,
  DaemonShutdownRequest,
  DaemonStatusRequest,
  DaemonSubmitRequest,
  DaemonSubscribeRequest,
  type DaemonCancelResult,
  type DaemonEventParams,
  type DaemonJob,
  type DaemonListParams,
  type DaemonShutdownParams,
  type DaemonShutdownResult,
  type DaemonStatus,
  type DaemonSubmitParams,
  type DaemonSubmitResult,
  type DaemonSubscribeParams,
} from '../protocol';
import { checkOwnership, daemonPaths, ensurePrivateDir, type DaemonPaths } from './paths';

export interface ConnectDaemonOptions {
  /** Start the daemon when none answers (default false: fail with DaemonNotRunningError). */
  autoStart?: boolean;
  /** Environment that locates the daemon (SGT_DAEMON_DIR, XDG_RUNTIME_DIR) and that a started daemon gets (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How long a started daemon may take to answer (default 15 s). */
  startTimeoutMs?: number;
  /** How to run the daemon (default: this Node with dist/daemon.js). */
  daemonCommand?: EngineCommand;
}

export class DaemonNotRunningError extends Error {
  constructor(readonly socket: string) {
    super(`the Saliency Studio daemon is not running (no answer on ${socket})`);
    this.name = 'DaemonNotRunningError';
  }
}

/** The log grows across daemon lifetimes; past this size the next start moves it to daemon.log.1. */
const MAX_LOG_BYTES = 1024 * 1024;

export async function connectDaemon(options: ConnectDaemonOptions = {}): Promise<DaemonClient> {
  const env = options.env ?? process.env;
  const paths = daemonPaths(env);
  checkOwnership(paths);
  const first = await tryConnect(paths.socket);
  if (first) return new DaemonClient(first, paths, false);
  if (!options.autoStart) throw new DaemonNotRunningError(paths.socket);
  const socket = await startDaemon(paths, env, options);
  return new DaemonClient(socket, paths, true);
}

export class DaemonClient {
  private readonly connection: MessageConnection;
  private closed = false;
  private readonly eventListeners = new Set<(params: DaemonEventParams) => void>();
  private readonly jobListeners = new Set<(job: DaemonJob) => void>();

  constructor(
    private readonly socket: net.Socket,
    readonly paths: DaemonPaths,
    /** Whether this connect started the daemon. */
    readonly startedDaemon: boolean,
  ) {
    this.connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    this.connection.onClose(() => (this.closed = true));
    // a connection holds one handler per method: fan out to any number of listeners here
    this.connection.onNotification(DaemonEventNotification, (p) => notify(this.eventListeners, p));
    this.connection.onNotification(DaemonJobChangedNotification, (p) => notify(this.jobListeners, p.job));
    socket.on('error', () => undefined); // surfaces as onClose / rejected requests
    this.connection.listen();
  }

  submit(params: DaemonSubmitParams): Promise<DaemonSubmitResult> {
    return this.connection.sendRequest(DaemonSubmitRequest, params);
  }

  async list(params: DaemonListParams = {}): Promise<DaemonJob[]> {
    return (await this.connection.sendRequest(DaemonListRequest, params)).jobs;
  }

  cancel(jobId: string): Promise<DaemonCancelResult> {
    return this.connection.sendRequest(DaemonCancelRequest, { jobId });
  }

  status(): Promise<DaemonStatus> {
    return this.connection.sendRequest(DaemonStatusRequest);
  }

  /** Stops the daemon; rejects (DAEMON_ERRORS.busy) when it has jobs and `cancelJobs` is not set. */
  shutdown(params: DaemonShutdownParams = {}): Promise<DaemonShutdownResult> {
    return this.connection.sendRequest(DaemonShutdownRequest, params);
  }

  /** Narrows the notifications this connection gets to some runs (`{}`: all again). */
  subscribe(params: DaemonSubscribeParams): Promise<void> {
    return this.connection.sendRequest(DaemonSubscribeRequest, params);
  }

  /** Every RunEvent of the jobs this connection is subscribed to. */
  onEvent(handler: (params: DaemonEventParams) => void): Disposable {
    return listen(this.eventListeners, handler);
  }

  /** A job was queued, started, got its step count, or ended. */
  onJobChanged(handler: (job: DaemonJob) => void): Disposable {
    return listen(this.jobListeners, handler);
  }

  /** Called once when the connection ends (the daemon stopped, or close()). */
  onClose(handler: () => void): Disposable {
    return this.connection.onClose(handler);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves with the job once it has ended (finished, failed or cancelled). */
  waitForJob(jobId: string): Promise<DaemonJob> {
    return new Promise((resolve, reject) => {
      const subs: Disposable[] = [];
      const settle = (fn: () => void): void => {
        for (const s of subs) s.dispose();
        fn();
      };
      subs.push(
        this.onJobChanged((job) => {
          if (job.id === jobId && isEnded(job)) settle(() => resolve(job));
        }),
        this.onClose(() => settle(() => reject(new Error(`the connection to the daemon closed before job ${jobId} ended`)))),
      );
      // it may have ended before we listened
      this.list().then(
        (jobs) => {
          const job = jobs.find((j) => j.id === jobId);
          if (!job) settle(() => reject(new Error(`the daemon has no job ${jobId}`)));
          else if (isEnded(job)) settle(() => resolve(job));
        },
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** Disconnects; the daemon and its jobs go on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.dispose();
    this.socket.end();
  }
}

function listen<T>(listeners: Set<(value: T) => void>, handler: (value: T) => void): Disposable {
  // wrapped, so the same function added twice is two listeners
  const entry = (value: T): void => handler(value);
  listeners.add(entry);
  return { dispose: () => listeners.delete(entry) };
}

function notify<T>(listeners: Set<(value: T) => void>, value: T): void {
  for (const l of [...listeners]) {
    try {
      l(value);
    } catch (err) {
      // one listener's bug must not starve the others, nor pass unseen
      process.emitWarning(`a daemon notification listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function isEnded(job: DaemonJob): boolean {
  return job.status !== 'queued' && job.status !== 'running';
}

function tryConnect(socketPath: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

export function defaultDaemonCommand(): EngineCommand {
  return { command: process.execPath, args: [path.join(distDir(), 'daemon.js')] };
}

async function startDaemon(paths: DaemonPaths, env: NodeJS.ProcessEnv, options: ConnectDaemonOptions): Promise<net.Socket> {
  ensurePrivateDir(paths);
  const cmd = options.daemonCommand ?? defaultDaemonCommand();
  if (!options.daemonCommand && !fs.existsSync(cmd.args[0])) throw new Error(`the daemon is not built (${cmd.args[0]} is missing): run \`npm run build\``);
  rotateLog(paths.log);
  const logStart = fileSize(paths.log);
  const out = fs.openSync(paths.log, 'a', 0o600);
  let exited: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  try {
    const child = spawn(cmd.command, cmd.args, {
      // its own session: it must outlive this client, its terminal and its window
      detached: true,
      stdio: ['ignore', out, out],
      cwd: paths.dir,
      // inside VS Code, process.execPath is Electron: make it behave as Node
      env: process.versions.electron ? { ...env, ELECTRON_RUN_AS_NODE: '1' } : env,
    });
    child.on('error', (error) => (exited = { code: null, signal: null, error }));
    child.on('exit', (code, signal) => (exited = { code, signal }));
    child.unref();
  } finally {
    fs.closeSync(out);
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const socket = await tryConnect(paths.socket);
    if (socket) return socket;
    // it stopped without answering: usually another client started a daemon at the same moment (that one answers), else an error in its log
    if (exited) {
      const again = await tryConnect(paths.socket);
      if (again) return again;
      const why = exited.error ? exited.error.message : logTail(paths.log, logStart) || `exit ${exited.code ?? exited.signal}, no output`;
      throw new Error(`the daemon did not start: ${why} (log: ${paths.log})`);
    }
    if (Date.now() > deadline) throw new Error(`the daemon did not answer within ${(options.startTimeoutMs ?? 15_000) / 1000} s (log: ${paths.log})`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function rotateLog(file: string): void {
  try {
    if (fileSize(file) > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    // a log that cannot be rotated is still appended to
  }
}

/** The last lines a failed start wrote to the log, on one line. */
function logTail(file: string, from: number): string {
  try {
    const text = fs.readFileSync(file).subarray(from).toString('utf8');
    return text.trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '';
  }
}
