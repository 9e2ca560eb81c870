/**
 * Batches dashboard updates so a fast run (hundreds of steps a second) never floods the
 * webview: updates are merged and posted at most once per interval (default 250 ms, i.e.
 * ≤ 4 messages a second), as one message. Events of a run are concatenated in order;
 * a run's overlay list is replaced by the newest one. Timers are injectable for tests.
 */
import type { DashboardOverlay, RunEvent, ToWebview } from '../../../server/src/protocol';

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class UpdateThrottle {
  private readonly events = new Map<string, RunEvent[]>();
  private readonly overlays = new Map<string, DashboardOverlay[]>();
  private timer: unknown;
  private lastFlush = -Infinity;
  private disposed = false;

  constructor(
    private readonly post: (msg: ToWebview) => void,
    private readonly intervalMs = 250,
    private readonly timers: Timers = realTimers,
  ) {}

  pushEvents(runDir: string, events: RunEvent[]): void {
    if (!events.length) return;
    const list = this.events.get(runDir);
    if (list) list.push(...events);
    else this.events.set(runDir, [...events]);
    this.schedule();
  }

  pushOverlays(runDir: string, entries: DashboardOverlay[]): void {
    this.overlays.set(runDir, entries);
    this.schedule();
  }

  /** Posts everything pending now (e.g. the history right after `ready`). */
  flush(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const messages: ToWebview[] = [];
    const runs = new Set([...this.events.keys(), ...this.overlays.keys()]);
    for (const runDir of runs) {
      const events = this.events.get(runDir);
      if (events) messages.push({ type: 'events', runDir, events });
      const entries = this.overlays.get(runDir);
      if (entries) messages.push({ type: 'overlays', runDir, entries });
    }
    this.events.clear();
    this.overlays.clear();
    if (!messages.length || this.disposed) return;
    this.lastFlush = this.timers.now();
    this.post(messages.length === 1 ? messages[0] : { type: 'batch', messages });
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.events.clear();
    this.overlays.clear();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.disposed) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }
}
