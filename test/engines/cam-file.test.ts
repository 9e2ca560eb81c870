/**
 * The tfjs engine's CAM file (runs/cam-file.ts) from real engine processes on tiny runs of
 * examples/shapes: written only with `consistency` in evaluate.metrics, for the kept
 * checkpoint (the same maps as recomputed from checkpoints/best.json's weights), on the CAM
 * probe's images; a deterministic repeat of a run is consistent at exactly 1.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCamProbe, probeFingerprint } from '../../server/src/data/cam-probe';
import { resolveNormalization } from '../../server/src/data/normalize';
import { CamProbeRecorder } from '../../server/src/engines/tfjs/cam-file';
import { restoreCheckpoint } from '../../server/src/engines/tfjs/checkpoint';
import { parseConfig } from '../../server/src/engines/tfjs/config';
import { loadRunData, runDataSpec } from '../../server/src/engines/tfjs/data';
import { createModel } from '../../server/src/engines/tfjs/models';
import { CAM_FILE, readCamFile } from '../../server/src/runs/cam-file';
import { consistencyOfRuns } from '../../server/src/runs/consistency';
import { ensureEngineBuilt, makeRunDir, shapesDir, startEngine } from './engine-process';
import { maxAbsDiff, useBackend } from './helpers';

const TINY = {
  data: { image_size: 16 },
  model: { width: 4 },
  train: { epochs: 3, batch: 8, backend: 'wasm' },
  preview: { samples: 0 },
  evaluate: { metrics: ['accuracy', 'consistency'] },
};

describe('tfjs engine: CAM file for cross-run consistency', function () {
  this.timeout(120000);
  let tmp: string;
  let runs: string;
  const sgt = path.join(shapesDir, 'shapes.sgt');

  before(async () => {
    await ensureEngineBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-camfile-'));
    runs = path.join(tmp, 'runs');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function train(patch: Record<string, unknown>): Promise<string> {
    const dir = makeRunDir(runs, sgt, 'shapes_cyborg', { ...TINY, ...patch });
    const run = startEngine(dir);
    assert.equal(await run.done, 0, run.stderr);
    return dir;
  }

  it('writes the kept checkpoint’s normalised label CAMs on the probe images; a repeat is consistent at 1, another seed less', async () => {
    const a = await train({ seed: 7 });
    const b = await train({ seed: 7 });
    const c = await train({ seed: 8 });
    const summary = JSON.parse(fs.readFileSync(path.join(a, 'summary.json'), 'utf8'));
    const cams = readCamFile(a)!;
    assert.ok(cams, `${CAM_FILE} written`);
    assert.equal(cams.epoch, summary.selectedEpoch, 'the CAMs are those of the kept checkpoint');
    const config = parseConfig(JSON.parse(fs.readFileSync(path.join(a, 'resolved.json'), 'utf8')), a);
    const data = loadRunData(config);
    const probe = loadCamProbe(runDataSpec(config), data);
    assert.equal(cams.count, probe.count);
    assert.equal(cams.probe.sha256, probeFingerprint(probe));
    assert.deepEqual(cams.labels, Array.from(probe.labels));
    assert.equal(cams.height, 4); // 16 px through small_cnn's two 2×2 pools
    for (let i = 0; i < cams.count; i++) {
      const m = cams.maps.subarray(i * 16, (i + 1) * 16);
      assert.ok(Math.min(...m) >= 0 && (Math.max(...m) === 0 || Math.abs(Math.max(...m) - 1) < 1e-6), 'min-max normalised (flat → zeros)');
    }
    // the same maps from the weights of checkpoints/best.json (cpu backend here, wasm in the engine)
    await useBackend('cpu');
    const best = JSON.parse(fs.readFileSync(path.join(a, 'checkpoints', 'best.json'), 'utf8'));
    assert.equal(best.epoch, cams.epoch);
    const model = createModel({ arch: config.model.arch, width: config.model.width, hidden: config.model.hidden, imageSize: data.train.size, channels: data.train.channels, classes: data.classes, seed: config.seed, normalize: resolveNormalization(config.data.normalize, data.train) });
    try {
      restoreCheckpoint(a, best.manifest, model);
      assert.ok(maxAbsDiff(new CamProbeRecorder(probe, model, 8).cams(), cams.maps) < 1e-4);
    } finally {
      model.dispose();
    }

    const same = consistencyOfRuns([a, b]);
    assert.ok(same.ok, JSON.stringify(same));
    assert.ok(Math.abs(same.value - 1) < 1e-9, `a deterministic repeat: ${same.value}`);
    const other = readCamFile(c)!;
    assert.equal(other.probe.sha256, cams.probe.sha256, 'another seed records on the same images');
    const seeds = consistencyOfRuns([a, b, c]);
    assert.ok(seeds.ok, JSON.stringify(seeds));
    assert.ok(seeds.value > -1 && seeds.value < 1, String(seeds.value));
  });

  it('writes no CAM file without `consistency` in evaluate.metrics; with `checkpoint = last` it is the last epoch’s', async () => {
    const none = await train({ evaluate: { metrics: ['accuracy'] } });
    assert.equal(fs.existsSync(path.join(none, CAM_FILE)), false);
    const last = await train({ train: { ...TINY.train, checkpoint: 'last' } });
    assert.equal(readCamFile(last)!.epoch, 3);
  });
});
