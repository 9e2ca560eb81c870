import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunTail } from '../../client/src/dashboard/run-tail';
import type { RunEvent } from '../../server/src/protocol';
import type { OverlayIndexEntry } from '../../server/src/runs/run-dir';

const step = (s: number): RunEvent => ({ time: 't', type: 'step', epoch: 1, step: s, loss: 1, ce: 1, guidance: 0, accuracy: 0.5, lr: 0.001, imagesPerSecond: 1 });

describe('dashboard run tail', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-tail-'));
    fs.mkdirSync(path.join(dir, 'overlays'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends the history, then only appended whole lines, holding back a line still being written', () => {
    const events: RunEvent[][] = [];
    const overlays: OverlayIndexEntry[][] = [];
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, JSON.stringify(step(1)) + '\n');
    const tail = new RunTail(dir, { onEvents: (e) => events.push(e), onOverlays: (o) => overlays.push(o) });
    tail.check(true);
    assert.deepEqual(events.map((b) => b.map((e) => (e.type === 'step' ? e.step : 0))), [[1]]);
    const line = JSON.stringify(step(2));
    fs.appendFileSync(file, line.slice(0, 10));
    tail.check();
    assert.equal(events.length, 1, 'a partial line is not sent');
    fs.appendFileSync(file, line.slice(10) + '\n' + JSON.stringify(step(3)) + '\n');
    tail.check();
    assert.deepEqual(events[1].map((e) => (e.type === 'step' ? e.step : 0)), [2, 3]);
    tail.check();
    assert.equal(events.length, 2, 'nothing new, nothing sent');

    assert.equal(overlays.length, 0);
    fs.writeFileSync(path.join(dir, 'overlays', 'index.json'), JSON.stringify([{ epoch: 1, step: 3, files: ['overlays/0000003/0.png'] }]));
    tail.check();
    assert.deepEqual(overlays, [[{ epoch: 1, step: 3, files: ['overlays/0000003/0.png'] }]]);
    tail.check();
    assert.equal(overlays.length, 1, 'an unchanged index is not re-sent');
    tail.dispose();
  });

  it('follows appends through fs.watch / the poll without explicit checks', async () => {
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, '');
    const got: number[] = [];
    const tail = new RunTail(dir, { onEvents: (e) => got.push(...e.map((x) => (x.type === 'step' ? x.step : 0))), onOverlays: () => {} });
    tail.start(50);
    fs.appendFileSync(file, JSON.stringify(step(7)) + '\n');
    for (let i = 0; i < 40 && !got.length; i++) await new Promise((r) => setTimeout(r, 25));
    tail.dispose();
    assert.deepEqual(got, [7]);
  });
});
