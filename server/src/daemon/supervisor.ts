/**
 * Runs one engine process for one job, per the engine contract (engines/contract.ts):
 * streams the RunEvents it prints on stdout, keeps the tail of its stderr, cancels it
 * (SIGTERM to its process group, SIGKILL after a grace period) and decides how the
 * job ended. When the engine exits without writing an ending (a crash, kill -9, the
 * OOM killer), the supervisor appends one to events.jsonl itself: `failed` with the
 * exit status and the stderr tail, or `cancelled` when a cancel was asked for.
 *
 * Nothing here may throw into the daemon: spawn errors and write errors (a full
 * disk) end the job as failed and are logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { EngineCommand } from '../engines/contract';
import type { RunEvent } from '../protocol';
import { errorMessage, type Logger } from './log';
import { appendEvents, eventsSize, isEnding, readEventsFrom, type EndingEvent } from './run-events';
import { parseEventLine } from '../runs/run-dir';
import { LineSplitter, LineTail, signalProcessGroup } from '../runs/child-process';

export interface EngineOutcome {
  status: EndingEvent['type'];
  ending: EndingEvent;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SuperviseOptions {
  command: EngineCommand;
  runDir: string;
  /** How long an engine may take to stop after SIGTERM before it is killed. */
  cancelGraceMs: number;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** Called for every event the engine prints, and for the ending the supervisor writes. */
  onEvent(event: RunEvent): void;
}

/** How many stderr lines a failure report keeps, and how long each may be. */
const STDERR_LINES = 50;
const STDERR_LINE_CHARS = 2000;
/** After the engine exits, how long its stdout/stderr may stay open (held by a stray child) before we stop waiting. */
const CLOSE_WAIT_MS = 2000;

export class EngineSupervisor {
  readonly done: Promise<EngineOutcome>;
  private readonly child: ChildProcess;
  private readonly stderrTail = new LineTail(STDERR_LINES, STDERR_LINE_CHARS);
  private readonly startOffset: number;
  private ending: EndingEvent | undefined;
  private cancelRequested = false;
  private killedAfterGrace = false;
  private killTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private exited = false;
  private finished = false;
  private exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
  private spawnError: Error | undefined;
  private resolveDone!: (o: EngineOutcome) => void;

  constructor(private readonly options: SuperviseOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.startOffset = eventsSize(options.runDir);
    const { command, args } = options.command;
    // its own process group (detached), so a cancel reaches the engine's children too (torchrun workers, …)
    this.child = spawn(command, args, { cwd: options.runDir, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.on('error', (err) => this.onSpawnError(err));
    this.child.on('exit', (code, signal) => this.onExit(code, signal));
    this.child.on('close', () => this.finish());
    const stdout = new LineSplitter((line) => this.onStdoutLine(line));
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => stdout.push(s));
    this.child.stdout?.on('end', () => stdout.flush());
    const stderr = new LineSplitter((line) => this.stderrTail.push(line));
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    this.child.stderr?.on('end', () => stderr.flush());
    this.child.stdout?.on('error', () => undefined);
    this.child.stderr?.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM now, SIGKILL after the grace period. The engine writes `cancelled` and exits 130. */
  cancel(): void {
    if (this.exited || this.cancelRequested) return;
    this.cancelRequested = true;
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => {
      this.killedAfterGrace = true;
      this.signal('SIGKILL');
    }, this.options.cancelGraceMs);
  }

  private signal(sig: NodeJS.Signals): void {
    signalProcessGroup(this.child, sig);
  }

  private onStdoutLine(line: string): void {
    if (!line.trim()) return;
    const value = parseEventLine(line);
    if (!value) {
      // not an event: keep it with stderr, it may explain a failure
      this.stderrTail.push(line);
      return;
    }
    if (isEnding(value) && !this.ending) {
      this.ending = value;
      // an engine that said it is done but does not exit (a stuck native thread) must not hold the queue
      this.lingerTimer = setTimeout(() => {
        this.options.log.warn(`engine ${this.child.pid} reported ${value.type} but did not exit within ${this.options.cancelGraceMs / 1000} s: killing it`);
        this.signal('SIGKILL');
      }, this.options.cancelGraceMs);
    }
    this.emit(value);
  }

  private emit(event: RunEvent): void {
    try {
      this.options.onEvent(event);
    } catch (err) {
      this.options.log.error(`event handler failed: ${errorMessage(err)}`);
    }
  }

  private onSpawnError(err: Error): void {
    if (this.child.pid !== undefined && !this.exited) {
      // an error after a successful spawn (a failed kill): not fatal
      this.options.log.warn(`engine process ${this.child.pid}: ${err.message}`);
      return;
    }
    this.spawnError = err;
    this.exited = true;
    this.finish();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exit = { code, signal };
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    // whatever the engine left behind in its process group has no job any more
    this.signal('SIGTERM');
    setTimeout(() => {
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
      this.finish();
    }, CLOSE_WAIT_MS).unref();
  }

  private finish(): void {
    if (this.finished || !this.exited) return;
    this.finished = true;
    const { code, signal } = this.exit;
    // an ending the engine wrote to the file but did not get to print still counts
    const ending = this.ending ?? readEventsFrom(this.options.runDir, this.startOffset).filter(isEnding).pop() ?? this.writeEnding();
    this.resolveDone({ status: ending.type, ending, code, signal });
  }

  /** The engine ended without saying how: write the truth into the run directory. */
  private writeEnding(): EndingEvent {
    const time = new Date().toISOString();
    const { code, signal } = this.exit;
    const events: RunEvent[] = [];
    let ending: EndingEvent;
    if (this.cancelRequested) {
      if (this.killedAfterGrace) {
        events.push({ time, type: 'log', level: 'warning', message: `the engine did not stop within ${this.options.cancelGraceMs / 1000} s of SIGTERM and was killed` });
      }
      ending = { time, type: 'cancelled' };
    } else {
      const tail = this.stderrTail.text();
      ending = { time, type: 'failed', error: this.describeFailure(), ...(tail ? { detail: tail } : {}) };
    }
    events.push(ending);
    this.options.log.info(`engine ${this.child.pid ?? '(not started)'} of ${this.options.runDir} ended without an ending event (code ${code}, signal ${signal}): writing ${ending.type}`);
    try {
      appendEvents(this.options.runDir, events);
    } catch (err) {
      // a full disk: the job still ends (in memory and for the clients); the log says why the file lacks it
      this.options.log.error(`cannot write the ${ending.type} event of ${this.options.runDir}: ${errorMessage(err)}`);
    }
    for (const e of events) this.emit(e);
    return ending;
  }

  private describeFailure(): string {
    const { code, signal } = this.exit;
    const cmd = this.options.command.command;
    if (this.spawnError) return `the engine could not be started (${cmd}): ${this.spawnError.message}`;
    if (signal === 'SIGKILL') return 'the engine was killed (SIGKILL: out of memory, or killed by someone) before it finished';
    if (signal) return `the engine was killed by ${signal} before it finished`;
    if (code === 0) return 'the engine exited (status 0) without reporting that it finished';
    return `the engine crashed (exit status ${code})`;
  }
}
