import * as assert from 'node:assert/strict';
import type { RunEvent, ToWebview } from '../../server/src/protocol';
import { UpdateThrottle, type Timers } from '../../client/src/dashboard/throttle';

/** A hand-driven clock: `advance` fires due timers in order. */
class FakeTimers implements Timers {
  t = 0;
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.queue.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.queue = this.queue.filter((q) => q.id !== id);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

const log = (message: string): RunEvent => ({ time: 't', type: 'log', level: 'info', message });

describe('dashboard update throttle', () => {
  it('posts at most one message per interval however fast events come, losing none', () => {
    const timers = new FakeTimers();
    const posted: { at: number; msg: ToWebview }[] = [];
    const th = new UpdateThrottle((msg) => posted.push({ at: timers.t, msg }), 250, timers);
    // 1000 events over one second, one every millisecond
    for (let i = 0; i < 1000; i++) {
      th.pushEvents('/r/a', [log(String(i))]);
      timers.advance(1);
    }
    timers.advance(1000);
    assert.ok(posted.length <= 5, `posted ${posted.length} messages`);
    for (let i = 1; i < posted.length; i++) assert.ok(posted[i].at - posted[i - 1].at >= 250);
    const all = posted.flatMap((p) => (p.msg.type === 'events' ? p.msg.events : []));
    assert.deepEqual(
      all.map((e) => (e.type === 'log' ? e.message : '')),
      Array.from({ length: 1000 }, (_, i) => String(i)),
    );
  });

  it('merges several runs into one batch and keeps only the newest overlay list', () => {
    const timers = new FakeTimers();
    const posted: ToWebview[] = [];
    const th = new UpdateThrottle((msg) => posted.push(msg), 250, timers);
    th.pushEvents('/r/a', [log('a')]);
    th.pushOverlays('/r/a', [{ epoch: 1, step: 1, uris: ['old'] }]);
    th.pushOverlays('/r/a', [{ epoch: 1, step: 2, uris: ['new'] }]);
    th.pushEvents('/r/b', [log('b')]);
    timers.advance(0);
    assert.equal(posted.length, 1);
    const msg = posted[0];
    assert.equal(msg.type, 'batch');
    if (msg.type !== 'batch') return;
    assert.deepEqual(msg.messages.map((m) => `${m.type}:${'runDir' in m ? m.runDir : ''}`), ['events:/r/a', 'overlays:/r/a', 'events:/r/b']);
    const overlays = msg.messages[1];
    assert.ok(overlays.type === 'overlays' && overlays.entries[0].uris[0] === 'new');
  });

  it('flush sends at once; dispose drops pending updates and stops the timer', () => {
    const timers = new FakeTimers();
    const posted: ToWebview[] = [];
    const th = new UpdateThrottle((msg) => posted.push(msg), 250, timers);
    th.pushEvents('/r/a', [log('x')]);
    th.flush();
    assert.equal(posted.length, 1);
    th.pushEvents('/r/a', [log('y')]);
    th.dispose();
    timers.advance(1000);
    assert.equal(posted.length, 1);
  });
});
