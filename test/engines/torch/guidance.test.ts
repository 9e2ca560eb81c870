/**
 * The torch engine's guidance losses (energy, L1, PPCE, RRR*, RRR), attributions (CAM, GradCAM,
 * input×gradient at input / mid / final) and EPG / IoU: hand-computed values and
 * finite-difference gradient checks in guidance_checks.py, then one tiny run per loss through
 * `sgt train --foreground` with `engine = torch`, read back from its run directory.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readEvents } from '../../../server/src/runs/run-dir';
import { ensureBuilt } from '../../cli/run-cli';
import { requireTorch, root, runPython, scratch } from './helpers';

const EXPERIMENTS = `experiment g_energy {
  seed = 2
  data { source = builtin("decoy-mnist")  normalize = dataset }
  model { arch = small_cnn  width = 4 }
  guidance { loss = energy  attribution = gradcam  layer = mid }
  train { epochs = 1  batch = 32  engine = torch }
  preview { every = 1 epochs  samples = 2 }
  evaluate { metrics = [accuracy, epg, iou] }
}
experiment g_l1 extends g_energy {
  guidance { loss = l1  attribution = ixg  layer = final }
}
experiment g_ppce extends g_energy {
  guidance { loss = ppce  lambda = 0.5  attribution = cam  layer = final }
}
experiment g_rrr_star extends g_energy {
  guidance { loss = rrr_star  attribution = ixg  layer = input }
}
experiment g_rrr extends g_energy {
  model { arch = mlp  hidden = [20, 10] }
  guidance { loss = rrr }
}
`;

/** The loss name and λ each experiment's log line reports, and its EPG / IoU attribution. */
const EXPECTED: Record<string, RegExp> = {
  g_energy: /energy \(lambda 1, gradcam at mid\)/,
  g_l1: /l1 \(lambda 1, ixg at final\)/,
  g_ppce: /ppce \(lambda 0\.5, cam at final\)/,
  g_rrr_star: /rrr_star \(lambda 1, ixg at input\)/,
  g_rrr: /rrr \(lambda 1000, input gradients\)/,
};

describe('torch engine guidance losses and attributions', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';

  before(function () {
    python = requireTorch(this).python;
    tmp = scratch('guidance');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('computes the losses, attributions and metrics by hand, and their gradients match finite differences', () => {
    const out = runPython(python, [path.join(__dirname, 'guidance_checks.py')], { cwd: __dirname });
    const { results, worstRelativeError } = JSON.parse(out.trim().split('\n').at(-1)!) as { results: Record<string, string>; worstRelativeError: Record<string, number> };
    for (const [name, r] of Object.entries(results)) assert.equal(r, 'ok', `${name}: ${r}`);
    assert.ok(Object.keys(results).length >= 12, Object.keys(results).join(', '));
    // every loss × attribution × layer the engine trains, and RRR on the CNN and the MLP
    assert.equal(Object.keys(worstRelativeError).length, 29);
    for (const [combo, err] of Object.entries(worstRelativeError)) assert.ok(err < 1e-4, `${combo}: ${err}`);
  });

  it('trains one tiny run per loss with sgt train --foreground, reporting the guidance term, EPG and IoU', () => {
    ensureBuilt();
    fs.writeFileSync(path.join(tmp, 'guided.sgt'), EXPERIMENTS);
    const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), 'train', 'guided.sgt', '--foreground', '--python', python], {
      cwd: tmp,
      env: { ...process.env, SGT_MAX_TRAIN_IMAGES: '64', SGT_MAX_EVAL_IMAGES: '32', PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 280_000,
    });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    const runsDir = path.join(tmp, '.sgt', 'runs');
    const dirs = fs.readdirSync(runsDir).filter((d) => !d.startsWith('.'));
    assert.equal(dirs.length, 5, dirs.join(', '));
    for (const d of dirs) {
      const events = readEvents(path.join(runsDir, d));
      const started = events.find((e) => e.type === 'started');
      assert.ok(started && started.type === 'started' && started.engine === 'torch', d);
      const name = started.experiment;
      const logs = events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.message : ''));
      assert.ok(logs.some((m) => EXPECTED[name].test(m)), `${name}: ${logs.join(' | ')}`);
      const steps = events.filter((e) => e.type === 'step');
      assert.ok(steps.length > 0, name);
      for (const s of steps) {
        if (s.type !== 'step') continue;
        assert.ok(Number.isFinite(s.loss) && Number.isFinite(s.guidance) && s.guidance >= 0, `${name}: ${JSON.stringify(s)}`);
        // total = CE + λ·L
        const lambda = { g_ppce: 0.5, g_rrr: 1000 }[name] ?? 1;
        assert.ok(Math.abs(s.loss - (s.ce + lambda * s.guidance)) <= 1e-4 * Math.max(1, Math.abs(s.loss)), `${name}: ${JSON.stringify(s)}`);
      }
      assert.ok(steps.some((s) => s.type === 'step' && s.guidance > 0), `${name}: the guidance term is never positive`);
      assert.equal(events.at(-1)?.type, 'finished', name);
      const test = events.filter((e) => e.type === 'epoch' && e.split === 'test').at(-1);
      assert.ok(test && test.type === 'epoch', name);
      const { epg, iou } = test.metrics as { epg?: number; iou?: number };
      assert.ok(epg !== undefined && epg >= 0 && epg <= 1, `${name}: epg ${epg}`);
      assert.ok(iou !== undefined && iou >= 0 && iou <= 1, `${name}: iou ${iou}`);
    }
  });

  it('takes the attribution gradients under autocast (SGT_TORCH_AMP=cpu: bfloat16 on the CPU)', () => {
    ensureBuilt();
    const dir = path.join(tmp, 'amp');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'guided.sgt'), EXPERIMENTS);
    const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), 'train', 'guided.sgt', '-e', 'g_energy', '-e', 'g_rrr_star', '-e', 'g_rrr', '--foreground', '--python', python], {
      cwd: dir,
      env: { ...process.env, SGT_TORCH_AMP: 'cpu', SGT_MAX_TRAIN_IMAGES: '64', SGT_MAX_EVAL_IMAGES: '32', PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 280_000,
    });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.stderr.match(/mixed precision \(bfloat16 autocast\)\); 1 epoch/g) ?? []).length, 3, r.stderr);
    const runsDir = path.join(dir, '.sgt', 'runs');
    for (const d of fs.readdirSync(runsDir).filter((x) => !x.startsWith('.'))) {
      const train = (JSON.parse(fs.readFileSync(path.join(runsDir, d, 'summary.json'), 'utf8')) as { history: { metrics: { train: Record<string, number> } }[] }).history[0].metrics.train;
      assert.ok(Number.isFinite(train.loss) && train.guidance > 0, `${d}: ${JSON.stringify(train)}`);
    }
  });

  it('trains a second-order loss on two data-parallel ranks as on one (devices = 2)', () => {
    ensureBuilt();
    const dir = path.join(tmp, 'ddp');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'ddp.sgt'),
      `experiment two {
  seed = 2
  data { source = builtin("decoy-mnist") }
  model { arch = small_cnn  width = 4 }
  guidance { loss = energy  attribution = gradcam  layer = mid }
  train { epochs = 1  batch = 32  engine = torch  devices = 2 }
  preview { samples = 0 }
}
experiment one extends two {
  train { devices = 1 }
}
`,
    );
    const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), 'train', 'ddp.sgt', '--foreground', '--python', python], {
      cwd: dir,
      env: { ...process.env, SGT_MAX_TRAIN_IMAGES: '64', SGT_MAX_EVAL_IMAGES: '32', PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 280_000,
    });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    const runsDir = path.join(dir, '.sgt', 'runs');
    const summaries = Object.fromEntries(
      fs.readdirSync(runsDir).filter((d) => !d.startsWith('.')).map((d) => {
        const s = JSON.parse(fs.readFileSync(path.join(runsDir, d, 'summary.json'), 'utf8')) as { experiment: string; history: { metrics: Record<string, Record<string, number>> }[] };
        return [s.experiment, s.history[0].metrics];
      }),
    );
    for (const split of ['train', 'val', 'test']) {
      for (const [k, v] of Object.entries(summaries.one[split])) assert.ok(Math.abs(summaries.two[split][k] - v) <= 1e-4 * Math.max(1, Math.abs(v)), `${split} ${k}: two ranks ${summaries.two[split][k]}, one ${v}`);
    }
    assert.ok(summaries.two.train.guidance > 0);
  });
});
