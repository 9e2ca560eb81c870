/**
 * Watching a child process (an engine): its output as lines, the end of its stderr, and
 * signals to its whole process group. Shared by the daemon's supervisor and the CLI's
 * foreground runner, which both start engines in their own process group.
 */
import type { ChildProcess } from 'node:child_process';

/** A line longer than this (16 MiB) is dropped rather than buffered without bound. */
const MAX_LINE = 16 * 1024 * 1024;

/** Sends `sig` to the child's process group (it and anything it started), else to the child alone. */
export function signalProcessGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

/** Splits a text stream into lines (LF or CRLF); the last unterminated line comes out on flush. */
export class LineSplitter {
  private buffer = '';
  private dropping = false;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const line = this.buffer + chunk.slice(start, nl);
      this.buffer = '';
      if (!this.dropping) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      this.dropping = false;
      start = nl + 1;
    }
    if (this.dropping) return;
    this.buffer += chunk.slice(start);
    if (this.buffer.length > MAX_LINE) {
      this.buffer = '';
      this.dropping = true;
    }
  }

  flush(): void {
    if (this.buffer && !this.dropping) this.onLine(this.buffer);
    this.buffer = '';
    this.dropping = false;
  }
}

/** The last `max` lines of a stream, each cut to `maxChars`. */
export class LineTail {
  private readonly lines: string[] = [];

  constructor(
    private readonly max: number,
    private readonly maxChars: number,
  ) {}

  push(line: string): void {
    this.lines.push(line.length > this.maxChars ? line.slice(0, this.maxChars) + ' …' : line);
    if (this.lines.length > this.max) this.lines.shift();
  }

  text(): string {
    return this.lines.join('\n');
  }
}
