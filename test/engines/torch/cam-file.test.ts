/**
 * Conformance of the CAM file (runs/cam-file.ts, `sgt-cams/1`) between the engines:
 *
 * - the same weights and probe → the same file: the tfjs engine's CamProbeRecorder and the
 *   torch engine's cam_file.py (weights moved with load_tfjs_layout, as conformance.test.ts)
 *   write the same keys, probe identity (sha256 of the pixels), labels and shape, and maps
 *   within 1e-4;
 * - the same tiny experiment trained by both engine processes with `consistency` records
 *   its CAMs on the same probe images at the same kept epoch, and the two runs' CAMs agree
 *   (cross-run consistency between the engines near 1: they train the same weights up to
 *   float noise).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeCamProbe } from '../../../server/src/data/cam-probe';
import type { ImageSet } from '../../../server/src/data/image-set';
import { writeNpy } from '../../../server/src/data/npy';
import { createRng } from '../../../server/src/data/rng';
import { CamProbeRecorder } from '../../../server/src/engines/tfjs/cam-file';
import { createModel } from '../../../server/src/engines/tfjs/models';
import { CAM_FILE, decodeCamFile, readCamFile } from '../../../server/src/runs/cam-file';
import { consistencyOfRuns } from '../../../server/src/runs/consistency';
import { ensureEngineBuilt, makeRunDir, startEngine as startTfjs, watchEngine, type EngineRun } from '../engine-process';
import { maxAbsDiff, useBackend } from '../helpers';
import { requireTorch, root, runPython, scratch } from './helpers';

const PY = `
import json, os, sys, types
import numpy as np
import torch
from sgt_torch.cam_file import CamProbe, probe_cams, write_cam_file
from sgt_torch.models import create_model, load_tfjs_layout
d = sys.argv[1]
t = json.load(open(os.path.join(d, "task.json")))
model = create_model(t["arch"], t["width"], [], t["size"], t["channels"], t["classes"], 0)
load_tfjs_layout(model, {n: np.load(os.path.join(d, f"w-{n}.npy")) for n in t["names"]})
trainer = types.SimpleNamespace(model=model, config={"train": {"batch": t["batch"]}}, device=torch.device("cpu"),
                                forward=lambda net, x: net(x), prep=lambda x: x)
probe = CamProbe(os.path.join(d, "probe"))
write_cam_file(os.path.join(d, "torch"), 3, 30, probe, probe_cams(trainer, probe))
`;

const CAPS = { SGT_MAX_TRAIN_IMAGES: '192', SGT_MAX_EVAL_IMAGES: '64' };
const SGT = `experiment tiny_cyborg {
  seed = 3
  data { source = builtin("decoy-mnist")  image_size = 28  annotated = 50%  normalize = dataset }
  model { arch = small_cnn  width = 4 }
  guidance { loss = cyborg  alpha = 0.5 }
  train { epochs = 2  batch = 32  optimizer = adam { lr = 0.003 }  engine = torch }
  preview { samples = 0 }
  evaluate { metrics = [accuracy, consistency] }
}
`;

describe('torch engine conformance: the CAM file', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';

  before(function () {
    python = requireTorch(this).python;
    tmp = scratch('camfile');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the same weights and probe images give the same CAM file in both engines', async () => {
    await useBackend('cpu');
    const spec = { arch: 'small_cnn' as const, width: 4, hidden: [], imageSize: 20, channels: 3 as const, classes: 4, seed: 5 };
    const model = createModel(spec);
    try {
      const rng = createRng(11, 3);
      const count = 10;
      const px = spec.imageSize * spec.imageSize;
      const probe: ImageSet = {
        images: Float32Array.from({ length: count * px * 3 }, () => rng.float()),
        channels: 3,
        labels: Int32Array.from({ length: count }, () => rng.int(4)),
        saliency: new Float32Array(count * px),
        size: spec.imageSize,
        count,
        decoyMask: new Uint8Array(count * px),
        decoyShade: new Float32Array(count).fill(-1),
      } as ImageSet;
      writeCamProbe(path.join(tmp, 'probe'), probe, 'test');
      for (const p of model.params) writeNpy(path.join(tmp, `w-${p.name}.npy`), p.variable.dataSync() as Float32Array, p.variable.shape);
      fs.writeFileSync(path.join(tmp, 'task.json'), JSON.stringify({ arch: spec.arch, width: spec.width, size: spec.imageSize, channels: 3, classes: spec.classes, batch: 4, names: model.params.map((p) => p.name) }));
      // batch 4 here, 3 in Python: the batching does not change the maps
      new CamProbeRecorder(probe, model, 4).write(path.join(tmp, 'tfjs'), 3, 30);
      runPython(python, ['-c', PY, tmp]);

      const tfText = fs.readFileSync(path.join(tmp, 'tfjs', CAM_FILE), 'utf8');
      const torchText = fs.readFileSync(path.join(tmp, 'torch', CAM_FILE), 'utf8');
      assert.deepEqual(Object.keys(JSON.parse(torchText)), Object.keys(JSON.parse(tfText)), 'the same keys in the same order');
      const a = decodeCamFile(tfText);
      const b = decodeCamFile(torchText);
      assert.deepEqual(b.probe, a.probe, 'the same probe identity (sha256 of the pixels), count and size');
      assert.deepEqual([b.epoch, b.step, b.count, b.height, b.width], [a.epoch, a.step, a.count, a.height, a.width]);
      assert.deepEqual(b.labels, a.labels);
      assert.equal(a.height, 5);
      assert.ok(maxAbsDiff(b.maps, a.maps) < 1e-4, `CAMs differ by ${maxAbsDiff(b.maps, a.maps)}`);
      assert.ok(Math.max(...a.maps) > 0.99, 'normalised maps');
    } finally {
      model.dispose();
    }
  });

  it('the same experiment trained by both engine processes records the same probe at the same kept epoch, with agreeing CAMs', async () => {
    const sgt = path.join(tmp, 'tiny.sgt');
    fs.writeFileSync(sgt, SGT);
    const runs = path.join(tmp, 'runs');
    const torchDir = makeRunDir(runs, sgt, 'tiny_cyborg');
    const args = ['--require', 'tsx/cjs', path.join(root, 'server/src/engines/torch/main.ts'), '--python', python, '--run-dir', torchDir];
    const run: EngineRun = watchEngine(spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...CAPS, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }));
    assert.equal(await run.done, 0, run.stderr);
    await ensureEngineBuilt();
    const tfDir = makeRunDir(runs, sgt, 'tiny_cyborg', { train: { engine: 'tfjs', backend: 'cpu' } });
    const tf = startTfjs(tfDir, { env: CAPS });
    assert.equal(await tf.done, 0, tf.stderr);

    const a = readCamFile(torchDir)!;
    const b = readCamFile(tfDir)!;
    assert.ok(a && b, 'both engines wrote cams/probe.json');
    assert.deepEqual(a.probe, b.probe);
    assert.equal(a.count, 64);
    assert.equal(a.epoch, JSON.parse(fs.readFileSync(path.join(torchDir, 'summary.json'), 'utf8')).selectedEpoch);
    assert.equal(a.epoch, b.epoch);
    const c = consistencyOfRuns([torchDir, tfDir]);
    assert.ok(c.ok, JSON.stringify(c));
    assert.ok(c.value > 0.99, `torch vs tfjs CAM consistency ${c.value}`);
    // the probe export is cached beside the data export, like it
    assert.ok(fs.readdirSync(path.join(runs, '.cache', 'cam-probe')).length === 1);
  });
});
