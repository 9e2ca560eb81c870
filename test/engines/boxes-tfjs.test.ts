/**
 * Boxes in the tfjs engine: single-label box masks are the human maps, so CYBORG trains on
 * them as on saliency maps (`sgt train --foreground`, engine = tfjs); multi-label data is
 * refused by the engine with a message that names the fix, should a run start anyway.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../../server/src/data/folder';
import { parseConfig } from '../../server/src/engines/tfjs/config';
import { loadRunData } from '../../server/src/engines/tfjs/data';
import { readEvents } from '../../server/src/runs/run-dir';
import { ensureBuilt, root } from '../cli/run-cli';

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

  it('loads box masks as human maps, and refuses multi-label data naming the fix', () => {
    const data = loadRunData(parseConfig(resolved('labels-single.csv'), path.join(tmp, 'run')), {});
    assert.equal(data.multiLabel, undefined);
    assert.ok(data.guided.some((g) => g === 1));
    assert.ok(data.train.saliency.some((v) => v === 1) && data.train.saliency.every((v) => v === 0 || v === 1));
    assert.throws(
      () => loadRunData(parseConfig(resolved('labels.csv'), path.join(tmp, 'run')), {}),
      (e: Error) => e instanceof DataError && /multi-label .* only the torch engine trains .*set `engine = torch`/.test(e.message),
    );
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
});
