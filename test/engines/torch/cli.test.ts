/**
 * The torch engine as users reach it: `sgt train --foreground --python …` on an experiment with
 * `engine = torch` (the built CLI and dist/engine-torch.js + dist/torch/sgt_torch), then
 * `sgt runs` and `sgt report` reading its run directory like a tfjs run's.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureBuilt } from '../../cli/run-cli';
import { requireTorch, root, scratch } from './helpers';

function sgt(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 });
  if (r.error) throw r.error;
  return r;
}

describe('sgt train with engine = torch', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';

  before(function () {
    python = requireTorch(this).python;
    ensureBuilt();
    tmp = scratch('cli');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('trains in the foreground with --python; sgt runs and sgt report read the run', () => {
    fs.writeFileSync(
      path.join(tmp, 'tiny.sgt'),
      `experiment tiny {
  seed = 4
  data { source = builtin("decoy-mnist") }
  model { arch = small_cnn  width = 4 }
  guidance { loss = cyborg }
  train { epochs = 1  batch = 32  engine = torch }
  preview { every = 2 steps  samples = 2 }
}
`,
    );
    const caps = { SGT_MAX_TRAIN_IMAGES: '96', SGT_MAX_EVAL_IMAGES: '32' };
    const train = sgt(['train', 'tiny.sgt', '--foreground', '--python', python], tmp, caps);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stderr, /^tiny: training in the foreground with the torch engine \(train\.engine = torch\)$/m);
    assert.match(train.stderr, /^tiny: started on torch, backend cpu /m);
    assert.match(train.stdout, /^tiny: finished in .* — epoch \d+: val: accuracy /m);

    const runs = sgt(['runs', '--format', 'json'], tmp);
    assert.equal(runs.status, 0, runs.stderr);
    const listed = JSON.parse(runs.stdout) as { runs: { experiment: string; status: string; epochs: number }[] };
    assert.deepEqual(listed.runs.map((r) => [r.experiment, r.status, r.epochs]), [['tiny', 'finished', 1]]);

    const report = sgt(['report', '--latest', '1', '-o', 'report.html'], tmp);
    assert.equal(report.status, 0, report.stderr);
    const html = fs.readFileSync(path.join(tmp, 'report.html'), 'utf8');
    assert.ok(html.includes('tiny'));
    assert.ok((html.match(/data:image\/png;base64,/g) ?? []).length >= 2, 'the CAM overlays are in the report');
  });
});
