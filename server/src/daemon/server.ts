/**
 * The daemon's JSON-RPC server: a Unix socket only its user can open, one
 * vscode-jsonrpc connection per client, the requests of the protocol module routed
 * to the JobManager and its notifications broadcast to the connected clients.
 * Clients come and go; jobs do not depend on them. With no jobs and no clients for
 * the idle timeout, the daemon stops by itself.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type Message, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  DAEMON_ERRORS,
  DaemonCancelRequest,
  DaemonEventNotification,
  DaemonJobChangedNotification,
  DaemonListRequest,
  DaemonShutdownRequest,
  DaemonStatusRequest,
  DaemonSubmitRequest,
  DaemonSubscribeRequest,
  type DaemonStatus,
} from '../protocol';
import type { DaemonConfig } from './config';
import { ENGINE_NAMES, engineInfo } from './engine-command';
import { JobManager } from './jobs';
import { acquireLock } from './lock';
import { errorMessage, type Logger } from './log';
import { ensurePrivateDir, type DaemonPaths } from './paths';

export interface DaemonServerOptions extends DaemonConfig {
  paths: DaemonPaths;
  version: string;
  /** Environment of engine processes (and of engine command overrides). */
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** Another daemon owns the folder. */
export class DaemonAlreadyRunningError extends Error {
  constructor(readonly pid: number | undefined, socket: string) {
    super(`a daemon is already running${pid ? ` (pid ${pid})` : ''} on ${socket}`);
    this.name = 'DaemonAlreadyRunningError';
  }
}

interface Client {
  connection: MessageConnection;
  socket: net.Socket;
  writer: FlushableWriter;
  /** Run directories it wants notifications about; undefined: all. */
  runDirs?: Set<string>;
}

export class DaemonServer {
  /** Resolves once the daemon has stopped (socket closed, lock released). */
  readonly stopped: Promise<void>;
  private readonly jobs: JobManager;
  private readonly clients = new Set<Client>();
  private readonly startedAt = new Date();
  private idleTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private resolveStopped!: () => void;

  private constructor(
    private readonly options: DaemonServerOptions,
    private readonly server: net.Server,
    private readonly releaseLock: () => void,
  ) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.jobs = new JobManager({
      concurrency: options.concurrency,
      cancelGraceMs: options.cancelGraceMs,
      env: options.env,
      log: options.log,
      onEvent: (jobId, runDir, event) => this.broadcast(runDir, (c) => c.sendNotification(DaemonEventNotification, { jobId, runDir, event })),
      onJobChanged: (job) => this.broadcast(job.runDir, (c) => c.sendNotification(DaemonJobChangedNotification, { job })),
      onActivityChanged: () => this.checkIdle(),
    });
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (err) => options.log.error(`server: ${err.message}`));
  }

  /** Takes the daemon folder (lock, socket) and starts serving. Throws DaemonAlreadyRunningError when another daemon has it. */
  static async start(options: DaemonServerOptions): Promise<DaemonServer> {
    const { paths } = options;
    ensurePrivateDir(paths);
    const lock = acquireLock(paths.lock);
    if (!lock.acquired) throw new DaemonAlreadyRunningError(lock.holder, paths.socket);
    let server: net.Server;
    try {
      server = await listenPrivate(paths.socket);
    } catch (err) {
      lock.release();
      throw err;
    }
    const daemon = new DaemonServer(options, server, lock.release);
    options.log.info(`daemon ${process.pid} (version ${options.version}) listening on ${paths.socket}; concurrency ${options.concurrency}, idle timeout ${options.idleTimeoutMs / 1000} s`);
    daemon.checkIdle();
    return daemon;
  }

  status(): DaemonStatus {
    return {
      pid: process.pid,
      version: this.options.version,
      socket: this.options.paths.socket,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      concurrency: this.options.concurrency,
      idleTimeoutSeconds: this.options.idleTimeoutMs / 1000,
      clients: this.clients.size,
      jobs: this.jobs.counts(),
      engines: ENGINE_NAMES.map((e) => engineInfo(e, this.options.env)),
    };
  }

  /** Stops serving: with `cancelJobs`, cancels the jobs and waits for their engines; else waits for running jobs to end. */
  stop(reason: string, cancelJobs: boolean): Promise<void> {
    this.stopping ??= this.shutdown(reason, cancelJobs);
    return this.stopping;
  }

  private async shutdown(reason: string, cancelJobs: boolean): Promise<void> {
    const { log, paths } = this.options;
    log.info(`stopping (${reason})`);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.jobs.stopAccepting();
    if (cancelJobs) this.jobs.cancelAll();
    await this.jobs.drain();
    // replies already on their way (the one to `shutdown` among them) go out before the sockets close
    await Promise.all([...this.clients].map((c) => c.writer.flushed()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.clients) c.socket.end();
      // a client that does not close its end must not keep the daemon alive
      setTimeout(() => {
        for (const c of this.clients) c.socket.destroy();
      }, 1000).unref();
    });
    // the socket file is ours while we hold the lock; remove it so no client tries a dead socket
    try {
      fs.rmSync(paths.socket, { force: true });
    } catch (err) {
      log.warn(`cannot remove ${paths.socket}: ${errorMessage(err)}`);
    }
    this.releaseLock();
    log.info('stopped');
    this.resolveStopped();
  }

  private accept(socket: net.Socket): void {
    const writer = new FlushableWriter(socket);
    const connection = createMessageConnection(new SocketMessageReader(socket), writer);
    const client: Client = { connection, socket, writer };
    this.clients.add(client);
    this.checkIdle();
    socket.on('error', () => undefined); // a client that vanished; onClose cleans up

    // every handler answers with a ResponseError for people, never an internal stack
    connection.onRequest(DaemonSubmitRequest, (p) => this.jobs.submit(p));
    connection.onRequest(DaemonListRequest, (p) => ({ jobs: this.jobs.list(p ?? undefined) }));
    connection.onRequest(DaemonCancelRequest, (p) => this.jobs.cancel(p?.jobId));
    connection.onRequest(DaemonStatusRequest, () => this.status());
    connection.onRequest(DaemonSubscribeRequest, (p) => {
      client.runDirs = Array.isArray(p?.runDirs) ? new Set(p.runDirs.map((d) => path.resolve(d))) : undefined;
    });
    connection.onRequest(DaemonShutdownRequest, (p) => {
      const active = this.jobs.active;
      if (active > 0 && !p?.cancelJobs) {
        throw new ResponseError(DAEMON_ERRORS.busy, `${active} job${active === 1 ? ' is' : 's are'} queued or running; cancel ${active === 1 ? 'it' : 'them'} first, or stop with cancelJobs`);
      }
      // reply first, then stop
      setImmediate(() => void this.stop('shutdown requested', true));
      return { cancelled: active };
    });
    connection.onClose(() => {
      this.clients.delete(client);
      connection.dispose();
      this.checkIdle();
    });
    connection.onError(([err]) => {
      // a client that went away without saying goodbye is normal, not worth a warning
      if (!/ECONNRESET|EPIPE/.test(err.message)) this.options.log.warn(`client connection: ${err.message}`);
    });
    connection.listen();
  }

  private broadcast(runDir: string, send: (c: MessageConnection) => Promise<void>): void {
    for (const client of this.clients) {
      if (client.runDirs && !client.runDirs.has(runDir)) continue;
      try {
        send(client.connection).catch(() => undefined);
      } catch {
        // the client is going away; onClose removes it
      }
    }
  }

  /** Idle = no jobs and no clients; the timer starts then and stops when either comes back. */
  private checkIdle(): void {
    const idle = this.clients.size === 0 && this.jobs.active === 0 && !this.stopping;
    if (!idle || this.options.idleTimeoutMs <= 0) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      return;
    }
    this.idleTimer ??= setTimeout(() => void this.stop(`idle for ${this.options.idleTimeoutMs / 1000} s`, false), this.options.idleTimeoutMs);
  }
}

/** A socket writer that can tell when everything handed to it has been written. */
class FlushableWriter extends SocketMessageWriter {
  private readonly pending = new Set<Promise<void>>();

  override write(msg: Message): Promise<void> {
    const p = super.write(msg);
    this.pending.add(p);
    const done = (): void => void this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  async flushed(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/**
 * Listens on the socket with mode 0600 from the first moment (umask around the
 * bind, then chmod for good measure). A socket file nobody answers on is stale
 * (a daemon that was killed) and is replaced.
 */
async function listenPrivate(socketPath: string): Promise<net.Server> {
  try {
    return await listenOnce(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
  }
  if (await answers(socketPath)) throw new DaemonAlreadyRunningError(undefined, socketPath);
  fs.rmSync(socketPath, { force: true });
  return listenOnce(socketPath);
}

function listenOnce(socketPath: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    const oldMask = process.umask(0o177);
    try {
      server.listen(socketPath, () => {
        server.off('error', reject);
        fs.chmodSync(socketPath, 0o600);
        resolve(server);
      });
    } finally {
      process.umask(oldMask);
    }
  });
}

/** Whether something accepts connections on the socket. */
export function answers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(timeoutMs, () => done(false));
  });
}
