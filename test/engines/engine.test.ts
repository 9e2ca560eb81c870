/**
 * The tfjs engine end to end: dist/engine-tfjs.js spawned as a real process through
 * contract.ts `engineCommand`, on copies of examples/shapes at 16 px with a 4-channel
 * small_cnn (a run takes about a second): the run directory it leaves, cancellation,
 * corrupt data, and resuming after a crash to exactly the metrics and weights of an
 * uninterrupted run.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { RunEvent } from '../../server/src/protocol';
import { readEvents, readOverlayIndex, timeline } from '../../server/src/runs/run-dir';
import { engineBundle, ensureEngineBuilt, makeRunDir, shapesDir, startEngine } from './engine-process';

const TINY = {
  data: { image_size: 16 },
  model: { width: 4 },
  train: { epochs: 2, batch: 8, backend: 'wasm' },
  preview: { every: { value: 1, unit: 'epochs' }, samples: 2 },
};

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) => events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

describe('tfjs engine process', function () {
  this.timeout(60000);
  let tmp: string;
  let data: string;
  let sgt: string;

  before(async () => {
    await ensureEngineBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-engine-'));
    // a copy of the shapes data with one corrupt image: it must be skipped with a warning naming it
    data = path.join(tmp, 'shapes');
    fs.cpSync(shapesDir, data, { recursive: true });
    fs.writeFileSync(path.join(data, 'images', 'shape_039.png'), 'this is not a PNG');
    sgt = path.join(data, 'shapes.sgt');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('trains a tiny job: events on stdout and in events.jsonl, overlays, checkpoints, summary', async () => {
    const dir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_cyborg', TINY);
    const run = startEngine(dir);
    assert.equal(await run.done, 0, run.stderr);

    const events = readEvents(dir);
    assert.deepEqual(
      run.events.map((e) => e.type),
      events.map((e) => e.type),
      'stdout and events.jsonl carry the same events',
    );
    assert.equal(events[0].type, 'started');
    assert.equal(events[events.length - 1].type, 'finished');
    const started = ofType(events, 'started')[0];
    assert.equal(started.engine, 'tfjs');
    assert.equal(started.backend, 'wasm');
    assert.equal(started.run, path.basename(dir));
    assert.equal(started.experiment, 'shapes_cyborg');
    assert.equal(started.epochs, 2);
    assert.equal(started.stepsPerEpoch, 4); // 39 readable images − 4 test − 4 val = 31 training images, batch 8

    const logs = ofType(events, 'log');
    assert.ok(logs.some((l) => l.level === 'warning' && l.message.includes(path.join('images', 'shape_039.png'))), 'the corrupt image is named in a warning');
    assert.ok(logs.some((l) => l.message.startsWith('backend: wasm')));

    const steps = ofType(events, 'step');
    assert.deepEqual(steps.map((s) => s.step), [4, 8]); // every 10 steps and the last of each epoch
    for (const s of steps) {
      assert.ok(s.loss > 0 && s.ce > 0 && s.guidance > 0 && s.imagesPerSecond > 0);
      assert.ok(Math.abs(s.loss - (0.5 * s.ce + 0.5 * s.guidance)) < 1e-4, 'CYBORG = α·CE + (1−α)·guidance');
    }
    const epochs = ofType(events, 'epoch');
    assert.deepEqual(epochs.map((e) => `${e.epoch}:${e.split}`), ['1:train', '1:val', '1:test', '2:train', '2:val', '2:test']);
    for (const e of epochs.filter((x) => x.split !== 'train')) {
      assert.deepEqual(Object.keys(e.metrics).sort(), ['accuracy', 'loss', 'saliency_corr', 'saliency_mse']);
    }

    const checkpoints = ofType(events, 'checkpoint');
    assert.deepEqual(checkpoints.map((c) => c.path), ['checkpoints/epoch-0001.json', 'checkpoints/epoch-0002.json']);
    assert.equal(checkpoints[0].best, true);
    const last = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', 'last.json'), 'utf8'));
    assert.equal(last.epoch, 2);
    assert.equal(last.step, 8);
    assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'best.json')));

    const overlays = ofType(events, 'overlay');
    assert.equal(overlays.length, 2);
    assert.deepEqual(readOverlayIndex(dir).map((o) => o.files), overlays.map((o) => o.files));
    for (const f of overlays.flatMap((o) => o.files)) {
      const png = PNG.sync.read(fs.readFileSync(path.join(dir, f)));
      assert.equal(png.height, 112); // 16 px × 7
      assert.equal(png.width, 3 * 112 + 4);
    }

    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.backend, 'wasm');
    assert.equal(summary.steps, 8);
    assert.equal(summary.data.train, 31);
    assert.equal(summary.history.length, 2);
    assert.ok(summary.metrics.test.accuracy >= 0 && summary.metrics.test.accuracy <= 1);
    assert.ok(summary.imagesPerSecond > 0);
    // batch 8 on a machine with ≥ 2 cores: the main thread and one gradient worker
    assert.equal(summary.threads, Math.min(2, os.availableParallelism()));
    assert.ok(logs.some((l) => l.message.includes(`${summary.threads} thread(s)`)));
    assert.match(ofType(events, 'finished')[0].summary, /test accuracy \d\.\d{3}.*on wasm/);
  });

  it('SIGTERM cancels at the next step: `cancelled` event, exit 130', async () => {
    const dir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_ce', { ...TINY, train: { ...TINY.train, epochs: 1000 } });
    const run = startEngine(dir);
    await run.waitFor((e) => e.type === 'step');
    run.child.kill('SIGTERM');
    assert.equal(await run.done, 130);
    assert.equal(run.events[run.events.length - 1].type, 'cancelled');
    const events = readEvents(dir);
    assert.equal(events[events.length - 1].type, 'cancelled');
  });

  it('a data folder without readable images fails cleanly, naming the file', async () => {
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(path.join(bad, 'images'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'images', 'a.png'), 'garbage');
    fs.writeFileSync(path.join(bad, 'labels.csv'), 'file,label\na.png,cat\n');
    const dir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_ce', { ...TINY, data: { ...TINY.data, source: { type: 'folder', path: '../bad' } } });
    const run = startEngine(dir);
    assert.equal(await run.done, 1);
    const events = readEvents(dir);
    const failed = ofType(events, 'failed');
    assert.equal(failed.length, 1);
    assert.match(failed[0].error, /No readable images in .*bad.*images.*a\.png: not a readable PNG\/JPEG image/);
    assert.equal(failed[0].detail, undefined, 'a data problem is not a crash: no stack');
  });

  it('an experiment the engine cannot train fails with the key to change', async () => {
    const dir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_ce', { ...TINY, model: { arch: 'resnet18' } });
    const run = startEngine(dir);
    assert.equal(await run.done, 1);
    assert.match(ofType(readEvents(dir), 'failed')[0].error, /model\.arch = resnet18 is not supported by the tfjs engine/);
  });

  it('a full disk fails the run cleanly: exit 1, a `failed` event that says so, no stack', async function () {
    if (!fs.existsSync('/dev/full')) this.skip();
    const dir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_ce', TINY);
    // every write to the events file answers ENOSPC, as on a full disk
    fs.rmSync(path.join(dir, 'events.jsonl'), { force: true });
    fs.symlinkSync('/dev/full', path.join(dir, 'events.jsonl'));
    const run = startEngine(dir);
    assert.equal(await run.done, 1);
    const failed = ofType(run.events, 'failed');
    assert.equal(failed.length, 1, run.stderr);
    assert.match(failed[0].error, /disk full while writing the run: .*ENOSPC/);
    assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
    // what the engine wrote before the failure stays readable
    assert.ok(fs.existsSync(path.join(dir, 'resolved.json')));
  });

  it('usage errors exit 2', () => {
    const r = spawnSync(process.execPath, [engineBundle, '--bogus'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown argument --bogus/);
    const missing = spawnSync(process.execPath, [engineBundle, '--run-dir', path.join(tmp, 'nope')], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
  });

  it('--resume after a crash ends with the same metrics and weights as an uninterrupted run', async () => {
    const patch = { ...TINY, train: { ...TINY.train, epochs: 3, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, weight_decay: 0.0001 }, schedule: { type: 'cosine' } } };
    const straightDir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_cyborg', patch);
    const crashDir = makeRunDir(path.join(tmp, 'runs'), sgt, 'shapes_cyborg', patch);

    const straight = startEngine(straightDir);
    assert.equal(await straight.done, 0, straight.stderr);

    // crash right after epoch 1's checkpoint: stop the process at once, then kill it
    const crashing = startEngine(crashDir);
    await crashing.waitFor((e) => e.type === 'checkpoint' && e.epoch === 1);
    crashing.child.kill('SIGSTOP');
    crashing.child.kill('SIGKILL');
    await crashing.done;
    assert.ok(!readEvents(crashDir).some((e) => e.type === 'finished'), 'the crash came too late to test anything');

    const resumed = startEngine(crashDir, { resume: true });
    assert.equal(await resumed.done, 0, resumed.stderr);
    const started = ofType(resumed.events, 'started')[0];
    assert.ok(started.resumedFrom && started.resumedFrom.epoch >= 1);

    const a = JSON.parse(fs.readFileSync(path.join(straightDir, 'summary.json'), 'utf8'));
    const b = JSON.parse(fs.readFileSync(path.join(crashDir, 'summary.json'), 'utf8'));
    assert.deepEqual(b.history, a.history);
    assert.deepEqual(b.metrics, a.metrics);
    assert.equal(b.resumed, true);
    assert.deepEqual(fs.readFileSync(path.join(crashDir, 'checkpoints', 'epoch-0003.bin')), fs.readFileSync(path.join(straightDir, 'checkpoints', 'epoch-0003.bin')));

    // the run's timeline (what reports read) is the uninterrupted history: same epoch metrics, once each
    const epochsOf = (dir: string) => ofType(timeline(readEvents(dir)), 'epoch').map((e) => [e.epoch, e.split, e.metrics]);
    assert.deepEqual(epochsOf(crashDir), epochsOf(straightDir));
  });
});
