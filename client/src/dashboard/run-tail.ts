/**
 * Follows one run directory while it trains: new lines of events.jsonl and rewrites of
 * overlays/index.json. Works the same for daemon and foreground runs, because it reads
 * only the run directory. fs.watch gives prompt updates; a slow poll backs it up where
 * watching is unreliable (network file systems, some containers). No vscode import, so
 * tests drive it directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../../server/src/protocol';
import { parseEventLines, readOverlayIndex, RUN_FILES, timeline, type OverlayIndexEntry } from '../../../server/src/runs/run-dir';

export interface RunTailListener {
  onEvents(events: RunEvent[]): void;
  onOverlays(entries: OverlayIndexEntry[]): void;
}

export class RunTail {
  private offset = 0;
  private partial = '';
  private overlayStamp = '';
  private readonly watchers: fs.FSWatcher[] = [];
  private poller: NodeJS.Timeout | undefined;

  constructor(
    readonly runDir: string,
    private readonly listener: RunTailListener,
  ) {}

  /** Sends the history so far (as one timeline), then follows the run. */
  start(pollMs = 1000): void {
    this.check(true);
    for (const dir of [this.runDir, path.join(this.runDir, RUN_FILES.overlays)]) {
      try {
        this.watchers.push(fs.watch(dir, () => this.check(false)));
      } catch {
        // not there yet or not watchable: the poll covers it
      }
    }
    this.poller = setInterval(() => this.check(false), pollMs);
    this.poller.unref?.();
  }

  /** Reads what was appended since the last check; `initial` sends it as a resumed-run timeline. */
  check(initial = false): void {
    const file = path.join(this.runDir, RUN_FILES.events);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      size = 0;
    }
    if (size < this.offset) {
      // the file was replaced: start over (the webview's reducer rewinds repeated steps)
      this.offset = 0;
      this.partial = '';
    }
    if (size > this.offset) {
      const fd = fs.openSync(file, 'r');
      try {
        const buf = Buffer.alloc(size - this.offset);
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        const text = this.partial + buf.subarray(0, n).toString('utf8');
        // keep a line still being written for the next check
        const cut = text.lastIndexOf('\n') + 1;
        this.partial = text.slice(cut);
        const events = parseEventLines(text.slice(0, cut));
        if (events.length) this.listener.onEvents(initial ? timeline(events) : events);
      } finally {
        fs.closeSync(fd);
      }
    }
    this.checkOverlays();
  }

  private checkOverlays(): void {
    let stamp = '';
    try {
      const st = fs.statSync(path.join(this.runDir, RUN_FILES.overlayIndex));
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      return;
    }
    if (stamp === this.overlayStamp) return;
    this.overlayStamp = stamp;
    this.listener.onOverlays(readOverlayIndex(this.runDir));
  }

  dispose(): void {
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }
}
