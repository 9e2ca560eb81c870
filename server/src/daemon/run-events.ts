/**
 * What the daemon reads from and writes into a run's events.jsonl. The engine owns
 * the file while it runs; the daemon only appends the ending an engine could not
 * write itself (it crashed, was killed, ran out of memory), so the run directory
 * tells the truth about every run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../protocol';
import { RUN_FILES, endsMidLine, parseEventLines } from '../runs/run-dir';

export type EndingEvent = Extract<RunEvent, { type: 'finished' | 'failed' | 'cancelled' }>;

export function isEnding(e: RunEvent): e is EndingEvent {
  return e.type === 'finished' || e.type === 'failed' || e.type === 'cancelled';
}

export function eventsFile(runDir: string): string {
  return path.join(runDir, RUN_FILES.events);
}

/** Size of events.jsonl now (0 when missing): where the events of an engine started now begin. */
export function eventsSize(runDir: string): number {
  try {
    return fs.statSync(eventsFile(runDir)).size;
  } catch {
    return 0;
  }
}

/** The events written at or after byte `offset`; a truncated or corrupt line is skipped. */
export function readEventsFrom(runDir: string, offset: number): RunEvent[] {
  let text: string;
  try {
    const fd = fs.openSync(eventsFile(runDir), 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      if (buf.length > 0) fs.readSync(fd, buf, 0, buf.length, offset);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  return parseEventLines(text);
}

/**
 * Appends events with one write. An engine killed mid-write can leave a partial last
 * line; a newline is put first then, so the partial line stays one corrupt line
 * (skipped by readers) instead of swallowing ours. Throws on write errors (ENOSPC).
 */
export function appendEvents(runDir: string, events: RunEvent[]): void {
  const fd = fs.openSync(eventsFile(runDir), 'a+', 0o644);
  try {
    const prefix = endsMidLine(fd) ? '\n' : '';
    fs.writeSync(fd, prefix + events.map((e) => JSON.stringify(e) + '\n').join(''));
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
