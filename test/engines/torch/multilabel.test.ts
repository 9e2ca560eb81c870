/**
 * Boxes and multi-label data in the torch engine (sgt_torch/multilabel.py): the seeded
 * target-class draw equals data/multi-label.ts's, Rao's masks and the multi-label metrics by
 * hand (multilabel_checks.py), then tiny `sgt train --foreground` runs of the shapes-boxes
 * example: single-label energy on box masks, and multi-label (sigmoid + BCE, a sampled class
 * per image) reproducible for a seed.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sampleTargetClasses } from '../../../server/src/data/multi-label';
import { readEvents } from '../../../server/src/runs/run-dir';
import { ensureBuilt } from '../../cli/run-cli';
import { requireTorch, root, runPython, scratch } from './helpers';

const example = path.join(root, 'examples', 'shapes-boxes');

type Summary = { metrics: Record<string, Record<string, number>>; history: { metrics: Record<string, Record<string, number>> }[] };

describe('torch engine: boxes and multi-label data', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';

  before(function () {
    python = requireTorch(this).python;
    tmp = scratch('multilabel');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('draws the target classes as the TypeScript loader does, and computes masks and metrics by hand', () => {
    const multi = [
      [1, 0, 1],
      [0, 1, 0],
      [1, 1, 1],
      [0, 0, 0],
      [0, 1, 1],
      [1, 1, 0],
    ];
    const flat = Uint8Array.from(multi.flat());
    const targets = [0, 1, 2, 3].map((e) => Array.from(sampleTargetClasses(flat, 3, 11, e)));
    const out = runPython(python, [path.join(__dirname, 'multilabel_checks.py'), JSON.stringify({ multi, seed: 11, targets })], { cwd: __dirname });
    const results = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, string>;
    assert.equal(Object.keys(results).length, 3);
    for (const [name, r] of Object.entries(results)) assert.equal(r, 'ok', `${name}: ${r}`);
  });

  /** Trains the experiments of `text` in a fresh folder with a copy of the example; returns the run directories by experiment. */
  function train(name: string, text: string): Map<string, string> {
    ensureBuilt();
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.cpSync(example, path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'exp.sgt'), text);
    const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), 'train', 'exp.sgt', '--foreground', '--python', python], {
      cwd: dir,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 280_000,
    });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    const runs = new Map<string, string>();
    const runsDir = path.join(dir, '.sgt', 'runs');
    for (const d of fs.readdirSync(runsDir).filter((x) => !x.startsWith('.'))) {
      const started = readEvents(path.join(runsDir, d)).find((e) => e.type === 'started');
      assert.ok(started?.type === 'started' && started.engine === 'torch', d);
      runs.set(started.experiment, path.join(runsDir, d));
    }
    return runs;
  }

  const EXPERIMENTS = `experiment single {
  seed = 3
  data {
    source     = folder("data")
    labels     = "labels-single.csv"
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 32
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = energy  attribution = gradcam  layer = mid }
  train    { epochs = 2  batch = 8  engine = torch }
  preview  { every = 1 epochs  samples = 2 }
  evaluate { metrics = [accuracy, epg, iou] }
}
experiment multi extends single {
  data { labels = "labels.csv" }
  guidance { loss = l1  lambda = 0.5  attribution = ixg  layer = final }
  evaluate { metrics = [accuracy, f1, map, epg, iou] }
}
experiment multi_cyborg extends multi {
  guidance { loss = cyborg  alpha = 0.7  attribution = cam  layer = final }
}
`;

  it('trains single-label boxes and multi-label data with sgt train --foreground, reporting BCE, F1, mAP, EPG and IoU', () => {
    const runs = train('runs', EXPERIMENTS);
    assert.deepEqual([...runs.keys()].sort(), ['multi', 'multi_cyborg', 'single']);
    for (const [name, dir] of runs) {
      const events = readEvents(dir);
      assert.equal(events.at(-1)?.type, 'finished', `${name}: ${JSON.stringify(events.at(-1))}`);
      const logs = events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.message : ''));
      const steps = events.flatMap((e) => (e.type === 'step' ? [e] : []));
      assert.ok(steps.length > 0, name);
      // the boxes reached the engine as per-class masks: some step's guidance term is positive
      assert.ok(steps.some((s) => s.guidance > 0), `${name}: ${JSON.stringify(steps)}`);
      for (const s of steps) {
        const want = name === 'multi_cyborg' ? 0.7 * s.ce + 0.3 * s.guidance : s.ce + (name === 'multi' ? 0.5 : 1) * s.guidance;
        assert.ok(Math.abs(s.loss - want) <= 1e-4 * Math.max(1, Math.abs(s.loss)), `${name}: ${JSON.stringify(s)}`);
      }
      const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Summary;
      const test = summary.metrics.test;
      assert.ok(test.epg >= 0 && test.epg <= 1 && test.iou >= 0 && test.iou <= 1, `${name}: ${JSON.stringify(test)}`);
      const exported = fs.readdirSync(path.join(dir, 'data'));
      assert.ok(exported.includes('train-boxes.npy'), exported.join(', '));
      if (name === 'single') {
        assert.ok(!exported.includes('train-multi-labels.npy'));
        assert.ok(!logs.some((m) => m.includes('multi-label')), logs.join(' | '));
        continue;
      }
      assert.ok(exported.includes('train-multi-labels.npy'), exported.join(', '));
      assert.ok(logs.some((m) => /multi-label data \(2 classes\): sigmoid outputs and binary cross-entropy/.test(m)), logs.join(' | '));
      for (const key of ['accuracy', 'f1', 'map']) assert.ok(test[key] >= 0 && test[key] <= 1, `${name} ${key}: ${JSON.stringify(test)}`);
      // BCE of 2 sigmoid outputs near initialisation: about log 2 per class, far from a 2-way softmax CE bound
      assert.ok(steps[0].ce > 0.3 && steps[0].ce < 1.5, `${name}: ${JSON.stringify(steps[0])}`);
    }
  });

  it('gives the same multi-label run twice for a seed (seeded target classes), another with another seed', () => {
    const one = `experiment multi {
  seed = 5
  data {
    source     = folder("data")
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 32
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = energy  attribution = gradcam  layer = final }
  train    { epochs = 2  batch = 8  engine = torch }
  preview  { samples = 0 }
  evaluate { metrics = [accuracy, f1, map] }
}
`;
    const a = train('repro-a', one).get('multi')!;
    const b = train('repro-b', one).get('multi')!;
    const c = train('repro-c', one.replace('seed = 5', 'seed = 6')).get('multi')!;
    const history = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Summary).history.map((h) => h.metrics);
    assert.deepEqual(history(a), history(b));
    assert.notDeepEqual(history(a), history(c));
  });

  it('trains on 2 data-parallel ranks (DDP over gloo) what one process trains, half the images guided', () => {
    // annotated = 50%: the shards of a batch hold different numbers of guided images, so
    // the guidance term only matches when each rank divides by the whole batch's count
    const text = (devices: number) => `experiment multi {
  seed = 5
  data {
    source     = folder("data")
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 32
    annotated  = 50%
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = energy  lambda = 2  attribution = cam  layer = final }
  train    { epochs = 2  batch = 8  engine = torch  devices = ${devices} }
  preview  { samples = 0 }
  evaluate { metrics = [accuracy, f1, map, epg] }
}
`;
    const one = train('ddp-1', text(1)).get('multi')!;
    const two = train('ddp-2', text(2)).get('multi')!;
    const started = readEvents(two).find((e) => e.type === 'started');
    assert.match(started?.type === 'started' ? started.backendReason : '', /2 data-parallel ranks/);
    const steps = (dir: string) => readEvents(dir).flatMap((e) => (e.type === 'step' ? [e] : []));
    assert.equal(steps(two).length, steps(one).length);
    assert.ok(steps(one).some((s) => s.guidance > 0));
    steps(one).forEach((a, i) => {
      const b = steps(two)[i];
      for (const k of ['loss', 'ce', 'guidance'] as const) assert.ok(Math.abs(a[k] - b[k]) < 1e-4, `step ${a.step} ${k}: 1 process ${a[k]}, 2 ranks ${b[k]}`);
    });
    const history = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Summary).history.map((h) => h.metrics);
    history(one).forEach((epoch, e) => {
      for (const split of ['train', 'val', 'test']) {
        for (const [k, v] of Object.entries(epoch[split])) assert.ok(Math.abs(history(two)[e][split][k] - v) < 1e-4, `epoch ${e + 1} ${split} ${k}: 1 process ${v}, 2 ranks ${history(two)[e][split][k]}`);
      }
    });
  });
});
