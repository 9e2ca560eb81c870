/**
 * The run directory contract (server/src/runs/run-dir.ts): what the writer
 * leaves on disk, what readers make of it — including truncated lines and the
 * history of a resumed run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { createRunDir, listRunDirs, newRunId, readEvents, readOverlayIndex, RUN_FILES, runInfo, RunWriter, timeline } from '../../server/src/runs/run-dir';
import { tempDir } from './helpers';

const T = '2024-01-01T00:00:00.000Z';
const started = (extra: Partial<Extract<RunEvent, { type: 'started' }>> = {}): RunEvent => ({
  time: T,
  type: 'started',
  run: 'r',
  experiment: 'exp',
  engine: 'tfjs',
  backend: 'cpu',
  backendReason: '',
  seed: 1,
  epochs: 2,
  stepsPerEpoch: 2,
  ...extra,
});
const step = (n: number, loss = 1): RunEvent => ({ time: T, type: 'step', epoch: Math.ceil(n / 2), step: n, loss, ce: loss, guidance: 0, accuracy: 0.5, lr: 0.001, imagesPerSecond: 10 });

describe('run directory', () => {
  let tmp: string;
  beforeEach(() => (tmp = tempDir('sgt-rundir-')));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('createRunDir writes the snapshot, resolved.json and an empty events file', () => {
    const dir = createRunDir(path.join(tmp, 'runs'), 'exp', 'experiment exp {}\n', { name: 'exp', seed: 1 });
    assert.match(path.basename(dir), /^exp-\d{8}-\d{6}-[0-9a-f]{4}$/);
    assert.equal(fs.readFileSync(path.join(dir, RUN_FILES.experiment), 'utf8'), 'experiment exp {}\n');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.resolved), 'utf8')), { name: 'exp', seed: 1 });
    assert.equal(fs.readFileSync(path.join(dir, RUN_FILES.events), 'utf8'), '');
    assert.ok(fs.statSync(path.join(dir, RUN_FILES.overlays)).isDirectory());
    assert.ok(fs.statSync(path.join(dir, RUN_FILES.checkpoints)).isDirectory());
  });

  it('RunWriter appends one line per event and readEvents reads them back', () => {
    const dir = createRunDir(tmp, 'exp', '', {});
    const w = new RunWriter(dir);
    const events = [started(), step(1), step(2), { time: T, type: 'finished', summary: 'ok' } as RunEvent];
    for (const e of events) w.event(e);
    w.close();
    assert.equal(fs.readFileSync(path.join(dir, RUN_FILES.events), 'utf8').split('\n').length, events.length + 1);
    assert.deepEqual(readEvents(dir), events);
  });

  it('writes overlays with an index, checkpoints and the summary', () => {
    const dir = createRunDir(tmp, 'exp', '', {});
    const w = new RunWriter(dir);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    assert.deepEqual(w.overlay(1, 50, [png, png]), ['overlays/0000050/0.png', 'overlays/0000050/1.png']);
    w.overlay(2, 100, [png]);
    assert.deepEqual(readOverlayIndex(dir), [
      { epoch: 1, step: 50, files: ['overlays/0000050/0.png', 'overlays/0000050/1.png'] },
      { epoch: 2, step: 100, files: ['overlays/0000100/0.png'] },
    ]);
    assert.equal(w.checkpoint('last.json', '{"epoch":2}'), 'checkpoints/last.json');
    w.summary({ accuracy: 0.9 });
    w.close();
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.summary), 'utf8')), { accuracy: 0.9 });
    // atomic writes leave no temporary files behind
    assert.deepEqual(fs.readdirSync(path.join(dir, RUN_FILES.checkpoints)), ['last.json']);
  });

  it('skips a truncated last line (a writer killed mid-write) and corrupt lines', () => {
    const dir = createRunDir(tmp, 'exp', '', {});
    fs.writeFileSync(path.join(dir, RUN_FILES.events), `${JSON.stringify(started())}\nnot json\n${JSON.stringify(step(1))}\n{"time":"${T}","type":"st`);
    assert.deepEqual(
      readEvents(dir).map((e) => e.type),
      ['started', 'step'],
    );
  });

  it('reads a missing events file as no events, a missing overlay index as none', () => {
    assert.deepEqual(readEvents(path.join(tmp, 'nope')), []);
    assert.deepEqual(readOverlayIndex(path.join(tmp, 'nope')), []);
  });

  it('timeline drops the events a resumed attempt supersedes', () => {
    const events: RunEvent[] = [
      started(),
      step(1, 1),
      step(2, 0.9),
      { time: T, type: 'epoch', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.5 } },
      { time: T, type: 'checkpoint', epoch: 1, step: 2, path: 'checkpoints/e1', best: true },
      step(3, 0.8), // written after the checkpoint, then the process died
      { time: T, type: 'overlay', epoch: 2, step: 3, files: [] },
      started({ resumedFrom: { epoch: 1, step: 2 } }),
      step(3, 0.7),
      step(4, 0.6),
      { time: T, type: 'finished', summary: '' },
    ];
    const t = timeline(events);
    const steps = t.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step');
    assert.deepEqual(
      steps.map((s) => [s.step, s.loss]),
      [
        [1, 1],
        [2, 0.9],
        [3, 0.7],
        [4, 0.6],
      ],
    );
    // events at or before the checkpoint stay; the superseded overlay goes
    assert.ok(t.some((e) => e.type === 'epoch' && e.step === 2));
    assert.ok(!t.some((e) => e.type === 'overlay'));
    assert.equal(t.filter((e) => e.type === 'started').length, 2);
  });

  it('runInfo tells finished, failed and interrupted runs apart', () => {
    const make = (events: RunEvent[]) => {
      const dir = createRunDir(tmp, 'exp', '', {});
      fs.writeFileSync(path.join(dir, RUN_FILES.events), events.map((e) => JSON.stringify(e) + '\n').join(''));
      return dir;
    };
    const finished = make([started(), step(1), { time: T, type: 'epoch', epoch: 1, step: 1, split: 'val', metrics: { accuracy: 0.8 } }, { time: T, type: 'finished', summary: '' }]);
    const info = runInfo(finished);
    assert.equal(info.status, 'finished');
    assert.equal(info.experiment, 'exp');
    assert.deepEqual(info.metrics, { val: { accuracy: 0.8 } });
    assert.equal(info.lastEpoch, 1);
    assert.equal(runInfo(make([started(), { time: T, type: 'failed', error: 'x' }])).status, 'failed');
    const killed = make([started(), step(1)]);
    assert.equal(runInfo(killed).status, 'interrupted');
    assert.equal(runInfo(killed, () => true).status, 'running');
  });

  it('listRunDirs lists run directories newest first and ignores other folders', () => {
    const runs = path.join(tmp, 'runs');
    for (const [name, when] of [
      ['a', '2024-01-01T10:00:00Z'],
      ['b', '2024-03-01T10:00:00Z'],
      ['c', '2024-02-01T10:00:00Z'],
    ] as const) {
      const dir = path.join(runs, newRunId(name, new Date(when)));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, RUN_FILES.resolved), '{}');
    }
    fs.mkdirSync(path.join(runs, 'not-a-run'));
    assert.deepEqual(
      listRunDirs(runs).map((d) => path.basename(d).split('-')[0]),
      ['b', 'c', 'a'],
    );
    assert.deepEqual(listRunDirs(path.join(tmp, 'missing')), []);
  });
});
