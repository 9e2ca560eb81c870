/**
 * RRR with `guidance.irrelevant = shortcut` in the torch engine: shortcut_checks.py checks, on
 * a small exported Decoy MNIST data set, that the swatch masks arrive through the export, the
 * RRR term by hand on the swatch, and the Trainer's loss on a real batch; then one tiny
 * `sgt train --foreground` run reports the region in its log.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportRunData } from '../../../server/src/data/export';
import { readEvents } from '../../../server/src/runs/run-dir';
import { ensureBuilt } from '../../cli/run-cli';
import { requireTorch, root, runPython, scratch } from './helpers';

describe('torch engine: RRR on the known shortcut (irrelevant = shortcut)', function () {
  this.timeout(300_000);
  let python = '';
  let tmp = '';

  before(function () {
    python = requireTorch(this).python;
    tmp = scratch('shortcut');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('swatch masks, the RRR term by hand and the trainer\'s loss (shortcut_checks.py)', () => {
    const env = { SGT_MAX_TRAIN_IMAGES: '24', SGT_MAX_EVAL_IMAGES: '8' };
    const exported = (name: string) => {
      const runDir = path.join(tmp, 'runs', `run-${name}`);
      fs.mkdirSync(runDir, { recursive: true });
      return exportRunData(runDir, { name, seed: 3, data: { source: { type: 'builtin', name } } }, env).dir;
    };
    const out = runPython(python, [path.join(__dirname, 'shortcut_checks.py'), exported('decoy-mnist'), exported('mnist')]);
    const { results } = JSON.parse(out.trim().split('\n').pop()!) as { results: Record<string, string> };
    const failed = Object.entries(results).filter(([, v]) => v !== 'ok');
    assert.deepEqual(failed, [], failed.map(([k, v]) => `${k}:\n${v}`).join('\n'));
    assert.equal(Object.keys(results).length, 5);
  });

  it('trains through sgt train --foreground', function () {
    ensureBuilt();
    const file = path.join(tmp, 'rrr.sgt');
    fs.writeFileSync(file, `experiment s {
  seed = 1
  data { source = builtin("decoy-mnist") }
  model { arch = mlp  hidden = [16, 8] }
  guidance { loss = rrr  lambda = 1000  irrelevant = shortcut }
  train { epochs = 1  batch = 16  engine = torch }
  preview { samples = 0 }
}
`);
    const runs = path.join(tmp, 'cli-runs');
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'train', file, '--foreground', '--runs-dir', runs], {
      encoding: 'utf8',
      env: { ...process.env, SGT_PYTHON: python, SGT_MAX_TRAIN_IMAGES: '64', SGT_MAX_EVAL_IMAGES: '16' },
      timeout: 240_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const dir = path.join(runs, fs.readdirSync(runs).find((d) => d.startsWith('s-'))!);
    const events = readEvents(dir);
    const log = events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message).join('\n');
    assert.match(log, /rrr \(lambda 1000, input gradients on the shortcut\)/);
    const done = events.find((e) => e.type === 'finished');
    assert.ok(done, 'the run finished');
  });
});
