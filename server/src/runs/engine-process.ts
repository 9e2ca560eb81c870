/**
 * Runs one engine process in the foreground (`sgt train --foreground`), per the
 * engine contract (engines/contract.ts): streams the RunEvents it prints on stdout,
 * keeps the tail of its stderr for failure reports, stops it on request (SIGTERM to
 * its process group, SIGKILL after a grace period) and decides how the run ended.
 *
 * When the engine exits without an ending event (a crash, kill -9, the OOM killer)
 * the ending is appended to events.jsonl here, so the run directory tells the truth
 * whoever ran the engine — the daemon's supervisor does the same for its jobs.
 */
import { spawn } from 'node:child_process';
import type { EngineCommand } from '../engines/contract';
import type { RunEvent } from '../protocol';
import { appendEvents, eventsSize, isEnding, readEventsFrom, type EndingEvent } from '../daemon/run-events';
import { parseEventLine } from './run-dir';
import { LineSplitter, LineTail, signalProcessGroup } from './child-process';

export interface EngineRunOptions {
  command: EngineCommand;
  runDir: string;
  env?: NodeJS.ProcessEnv;
  /** How long the engine may take to stop after SIGTERM before it is killed (default 10 s). */
  cancelGraceMs?: number;
  /** Every event the engine prints, and the ending written for it when it could not. */
  onEvent?(event: RunEvent): void;
  /** Engine output that is not an event: its stderr lines, and non-JSON stdout lines. */
  onOutput?(line: string, stream: 'stdout' | 'stderr'): void;
}

export interface EngineOutcome {
  status: EndingEvent['type'];
  ending: EndingEvent;
  /** Exit code, or the signal that killed the engine. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of the engine's stderr (and of its non-JSON stdout). */
  stderrTail: string[];
}

export interface EngineProcess {
  readonly pid: number | undefined;
  readonly done: Promise<EngineOutcome>;
  /** Asks the engine to stop: SIGTERM now, SIGKILL after the grace period. */
  cancel(): void;
  /** Stops it now (SIGKILL), e.g. on a second Ctrl-C. */
  kill(): void;
}

const STDERR_LINES = 40;
const STDERR_LINE_CHARS = 2000;
/** After the engine exits, how long its pipes may stay open (held by a stray child) before we stop waiting. */
const CLOSE_WAIT_MS = 2000;

export function startEngine(options: EngineRunOptions): EngineProcess {
  const tail = new LineTail(STDERR_LINES, STDERR_LINE_CHARS);
  const startOffset = eventsSize(options.runDir);
  const grace = options.cancelGraceMs ?? 10_000;
  let ending: EndingEvent | undefined;
  let cancelRequested = false;
  let killedAfterGrace = false;
  let killedAtOnce = false;
  let killTimer: NodeJS.Timeout | undefined;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let settled = false;
  let resolveDone!: (o: EngineOutcome) => void;
  const done = new Promise<EngineOutcome>((resolve) => (resolveDone = resolve));

  const emit = (e: RunEvent): void => {
    try {
      options.onEvent?.(e);
    } catch {
      // a display problem must not lose the run's ending
    }
  };
  const output = (line: string, stream: 'stdout' | 'stderr'): void => {
    tail.push(line);
    options.onOutput?.(line, stream);
  };

  // its own process group: Ctrl-C reaches only us, and we stop the engine (and any children it started) once, cleanly
  const child = spawn(options.command.command, options.command.args, {
    cwd: options.runDir,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const signalGroup = (sig: NodeJS.Signals): void => signalProcessGroup(child, sig);
  // if this process dies first (an uncaught error, process.exit), the engine must not train on unattended
  const onParentExit = (): void => signalGroup('SIGTERM');
  process.on('exit', onParentExit);

  const stdout = new LineSplitter((line) => {
    if (!line.trim()) return;
    const value = parseEventLine(line);
    if (!value) return output(line, 'stdout');
    if (isEnding(value)) ending = value;
    emit(value);
  });
  const stderr = new LineSplitter((line) => output(line, 'stderr'));
  child.stdout.setEncoding('utf8').on('data', (s: string) => stdout.push(s));
  child.stdout.on('end', () => stdout.flush());
  child.stderr.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  child.stderr.on('end', () => stderr.flush());
  child.stdout.on('error', () => undefined);
  child.stderr.on('error', () => undefined);

  child.on('error', (err) => {
    if (child.pid !== undefined && exit === undefined) return; // a failed kill, not a failed start
    spawnError = err;
    exit = { code: null, signal: null };
    finish();
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    if (killTimer) clearTimeout(killTimer);
    // whatever the engine left running in its group has no run any more
    signalGroup('SIGTERM');
    setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
      finish();
    }, CLOSE_WAIT_MS).unref();
  });
  child.on('close', () => finish());

  function finish(): void {
    if (settled || exit === undefined) return;
    settled = true;
    process.removeListener('exit', onParentExit);
    // an ending the engine wrote to the file but did not get to print still counts
    const final = ending ?? readEventsFrom(options.runDir, startOffset).filter(isEnding).pop() ?? writeEnding();
    resolveDone({ status: final.type, ending: final, code: exit.code, signal: exit.signal, stderrTail: tail.text().split('\n').filter((l) => l !== '') });
  }

  /** The engine ended without saying how: write the truth into the run directory. */
  function writeEnding(): EndingEvent {
    const time = new Date().toISOString();
    const events: RunEvent[] = [];
    let e: EndingEvent;
    if (cancelRequested) {
      if (killedAfterGrace) events.push({ time, type: 'log', level: 'warning', message: `the engine did not stop within ${grace / 1000} s of SIGTERM and was killed` });
      else if (killedAtOnce) events.push({ time, type: 'log', level: 'warning', message: 'the engine was killed without waiting for it to stop (interrupted twice)' });
      e = { time, type: 'cancelled' };
    } else {
      const detail = tail.text();
      e = { time, type: 'failed', error: describeFailure(), ...(detail ? { detail } : {}) };
    }
    events.push(e);
    try {
      appendEvents(options.runDir, events);
    } catch {
      // a full disk: the outcome still says what happened
    }
    for (const x of events) emit(x);
    return e;
  }

  function describeFailure(): string {
    const cmd = options.command.command;
    if (spawnError) return `the engine could not be started (${cmd}): ${spawnError.message}`;
    const { code, signal } = exit ?? { code: null, signal: null };
    if (signal === 'SIGKILL') return 'the engine was killed (SIGKILL: out of memory, or killed by someone) before it finished';
    if (signal) return `the engine was killed by ${signal} before it finished`;
    if (code === 0) return 'the engine exited (status 0) without reporting that it finished';
    return `the engine crashed (exit status ${code})`;
  }

  return {
    get pid() {
      return child.pid;
    },
    done,
    cancel() {
      if (exit !== undefined || cancelRequested) return;
      cancelRequested = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => {
        killedAfterGrace = true;
        signalGroup('SIGKILL');
      }, grace);
    },
    kill() {
      if (exit !== undefined) return;
      cancelRequested = true;
      killedAtOnce = true;
      if (killTimer) clearTimeout(killTimer);
      signalGroup('SIGKILL');
    },
  };
}
