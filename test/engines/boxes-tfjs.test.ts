/**
 * Boxes in the tfjs engine: single-label box masks are the human maps, so CYBORG trains on
 * them as on saliency maps (`sgt train --foreground`, engine = tfjs); multi-label data
 * (labels.csv `circle;square`) trains with sigmoid outputs, BCE and a sampled target class
 * per image (multi-label.ts), reporting exact-match accuracy, F1, mAP, EPG and IoU.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../server/src/engines/tfjs/config';
import { loadRunData } from '../../server/src/engines/tfjs/data';
import { readEvents, timeline } from '../../server/src/runs/run-dir';
import { ensureBuilt, root } from '../cli/run-cli';
import { ensureEngineBuilt, makeRunDir, startEngine } from './engine-process';

const example = path.join(root, 'examples', 'shapes-boxes');

describe('tfjs engine: boxes as annotation', function () {
  this.timeout(180_000);
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-tfjs-boxes-'));
    fs.cpSync(example, path.join(tmp, 'data'), { recursive: true });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const resolved = (labels: string) => ({
    name: 'x',
    seed: 3,
    baseDir: tmp,
    data: { source: { type: 'folder', path: 'data' }, labels, annotation: 'boxes', boxes: 'boxes.json', image_size: 16 },
    guidance: { loss: 'cyborg' },
    train: { engine: 'tfjs' },
  });

  it('loads box masks as human maps, and multi-label data with its multi-hot labels', () => {
    const data = loadRunData(parseConfig(resolved('labels-single.csv'), path.join(tmp, 'run')), {});
    assert.equal(data.multiLabel, undefined);
    assert.ok(data.guided.some((g) => g === 1));
    assert.ok(data.train.saliency.some((v) => v === 1) && data.train.saliency.every((v) => v === 0 || v === 1));
    const multi = loadRunData(parseConfig(resolved('labels.csv'), path.join(tmp, 'run')), {});
    assert.equal(multi.multiLabel, true);
    assert.equal(multi.train.multiLabels?.length, multi.train.count * multi.classes);
    // some image has both shapes
    assert.ok(Array.from({ length: multi.train.count }, (_, i) => multi.train.multiLabels![2 * i] + multi.train.multiLabels![2 * i + 1]).some((c) => c === 2));
  });

  it('trains CYBORG on box masks with sgt train --foreground', () => {
    ensureBuilt();
    fs.writeFileSync(
      path.join(tmp, 'exp.sgt'),
      `experiment boxes_tfjs {
  seed = 3
  data {
    source     = folder("data")
    labels     = "labels-single.csv"
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 16
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = cyborg  alpha = 0.5 }
  train    { epochs = 1  batch = 8  engine = tfjs }
  preview  { every = 1 epochs  samples = 2 }
}
`,
    );
    const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), 'train', 'exp.sgt', '--foreground'], { cwd: tmp, encoding: 'utf8', timeout: 170_000 });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    const runs = path.join(tmp, '.sgt', 'runs');
    const [run] = fs.readdirSync(runs).filter((d) => !d.startsWith('.'));
    const events = readEvents(path.join(runs, run));
    assert.equal(events.at(-1)?.type, 'finished');
    const steps = events.flatMap((e) => (e.type === 'step' ? [e] : []));
    assert.ok(steps.length > 0 && steps.every((s) => s.guidance > 0), JSON.stringify(steps));
    const test = events.filter((e) => e.type === 'epoch' && e.split === 'test').at(-1);
    assert.ok(test?.type === 'epoch' && typeof test.metrics.saliency_corr === 'number', JSON.stringify(test));
  });

  it('trains multi-label data (BCE, sampled target classes) with sgt train --foreground, reporting F1, mAP, EPG and IoU', () => {
    ensureBuilt();
    const dir = path.join(tmp, 'multi');
    fs.cpSync(example, path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'exp.sgt'),
      `experiment multi {
  seed = 3
  data {
    source     = folder("data")
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 16
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = energy  lambda = 0.5  attribution = ixg  layer = final }
  train    { epochs = 1  batch = 8  engine = tfjs }
  preview  { samples = 0 }
  evaluate { metrics = [accuracy, f1, map, epg, iou, auc] }
}
experiment multi_cyborg extends multi {
  guidance { loss = cyborg  alpha = 0.7  attribution = cam  layer = final }
}
`,
    );
    const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), 'train', 'exp.sgt', '--foreground'], { cwd: dir, encoding: 'utf8', timeout: 170_000 });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    const runs = path.join(dir, '.sgt', 'runs');
    const names: string[] = [];
    for (const run of fs.readdirSync(runs).filter((d) => !d.startsWith('.'))) {
      const events = readEvents(path.join(runs, run));
      const started = events.find((e) => e.type === 'started');
      assert.ok(started?.type === 'started' && started.engine === 'tfjs', run);
      const name = started.experiment;
      names.push(name);
      assert.equal(events.at(-1)?.type, 'finished', `${name}: ${JSON.stringify(events.at(-1))}`);
      const steps = events.flatMap((e) => (e.type === 'step' ? [e] : []));
      assert.ok(steps.length > 0 && steps.some((s) => s.guidance > 0), `${name}: ${JSON.stringify(steps)}`);
      for (const s of steps) {
        const want = name === 'multi_cyborg' ? 0.7 * s.ce + 0.3 * s.guidance : s.ce + 0.5 * s.guidance;
        assert.ok(Math.abs(s.loss - want) <= 1e-4 * Math.max(1, Math.abs(s.loss)), `${name}: ${JSON.stringify(s)}`);
      }
      // BCE of 2 sigmoid outputs near initialisation: about log 2 per class
      assert.ok(steps[0].ce > 0.3 && steps[0].ce < 1.5, `${name}: ${JSON.stringify(steps[0])}`);
      const logs = events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.message : ''));
      assert.ok(logs.some((m) => /multi-label data \(2 classes\): sigmoid outputs and binary cross-entropy .* one target class per image and epoch/.test(m)), logs.join(' | '));
      assert.ok(logs.some((m) => m === 'auc not computed for multi-label data (it computes accuracy, f1, map, epg, iou); skipped'), logs.join(' | '));
      assert.ok(!logs.some((m) => m.includes('does not compute')), logs.join(' | '));
      const test = events.filter((e) => e.type === 'epoch' && e.split === 'test').at(-1);
      assert.ok(test?.type === 'epoch', name);
      for (const key of ['accuracy', 'f1', 'map', 'epg', 'iou']) assert.ok(test.metrics[key] >= 0 && test.metrics[key] <= 1, `${name} ${key}: ${JSON.stringify(test.metrics)}`);
      assert.ok(test.metrics.loss > 0.3 && test.metrics.loss < 1.5, `${name}: ${JSON.stringify(test.metrics)}`);
      assert.equal(test.metrics.auc, undefined);
    }
    assert.deepEqual(names.sort(), ['multi', 'multi_cyborg']);
  });
  it('--resume of a multi-label run after a crash ends as the uninterrupted run (the target classes are redrawn per epoch from the seed)', async () => {
    await ensureEngineBuilt();
    const sgt = path.join(tmp, 'resume.sgt');
    fs.writeFileSync(sgt, `experiment ml {
  seed = 4
  data {
    source     = folder("data")
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 16
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = energy  lambda = 2  attribution = cam  layer = final }
  train    { epochs = 3  batch = 8  optimizer = adam { lr = 0.003 }  engine = tfjs }
  preview  { samples = 0 }
  evaluate { metrics = [accuracy, f1, map, epg] }
}
`);
    const runs = path.join(tmp, 'resume-runs');
    const env = { SGT_TFJS_THREADS: '1' };
    const straightDir = makeRunDir(runs, sgt, 'ml');
    const crashDir = makeRunDir(runs, sgt, 'ml');
    const straight = startEngine(straightDir, { env });
    assert.equal(await straight.done, 0, straight.stderr);

    const crashing = startEngine(crashDir, { env });
    await crashing.waitFor((e) => e.type === 'checkpoint' && e.epoch === 1);
    crashing.child.kill('SIGSTOP');
    crashing.child.kill('SIGKILL');
    await crashing.done;
    assert.ok(!readEvents(crashDir).some((e) => e.type === 'finished'), 'the crash came too late to test anything');

    const resumed = startEngine(crashDir, { resume: true, env });
    assert.equal(await resumed.done, 0, resumed.stderr);
    const summary = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary(crashDir).resumed, true);
    assert.deepEqual(summary(crashDir).history, summary(straightDir).history);
    // epochs 2 and 3 drew other target classes than epoch 1, and still match: guidance > 0 in each
    for (const h of summary(straightDir).history) assert.ok(h.metrics.train.guidance > 0, JSON.stringify(h.metrics.train));
    const epochsOf = (dir: string) => timeline(readEvents(dir)).flatMap((e) => (e.type === 'epoch' ? [[e.epoch, e.split, e.metrics]] : []));
    assert.deepEqual(epochsOf(crashDir), epochsOf(straightDir));
  });
});
