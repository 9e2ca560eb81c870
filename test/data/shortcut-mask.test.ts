/**
 * The per-image shortcut mask (ImageSet.decoyMask): Decoy MNIST marks exactly its 4×4 swatch
 * in one corner, whose pixels carry the swatch's shade; clean MNIST marks nothing; the torch
 * engine's export (`<split>-shortcut.npy`) holds the same bytes the tfjs engine loads.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildDecoyMnist, buildMnist } from '../../server/src/data/decoy-mnist';
import { DATA_EXPORT_FORMAT, dataSpec, exportRunData } from '../../server/src/data/export';
import type { ImageSet } from '../../server/src/data/image-set';
import { readNpy } from '../../server/src/data/npy';
import { loadRunSamples } from '../../server/src/data/run-data';

/** The marked pixels of image n as [row, col] pairs. */
function marked(set: ImageSet, n: number): [number, number][] {
  const px = set.size * set.size;
  const out: [number, number][] = [];
  for (let i = 0; i < px; i++) if (set.decoyMask[n * px + i]) out.push([Math.floor(i / set.size), i % set.size]);
  return out;
}

describe('shortcut masks (Decoy MNIST swatch)', function () {
  this.timeout(60_000);
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-shortcut-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('marks exactly the 4×4 corner swatch of every image, with the swatch shade under it', () => {
    const d = buildDecoyMnist({ seed: 3 });
    const corners = new Set<string>();
    for (const split of ['train', 'val', 'test'] as const) {
      const s = d[split];
      for (let n = 0; n < s.count; n += 97) {
        const m = marked(s, n);
        assert.equal(m.length, 16, `${split} ${n}: 16 marked pixels`);
        const top = Math.min(...m.map((p) => p[0]));
        const left = Math.min(...m.map((p) => p[1]));
        assert.ok([0, 24].includes(top) && [0, 24].includes(left), `${split} ${n}: in a corner (${top}, ${left})`);
        corners.add(`${top},${left}`);
        for (const [r, c] of m) {
          assert.ok(r >= top && r < top + 4 && c >= left && c < left + 4, 'a 4×4 block');
          assert.equal(s.images[r * 28 + c + n * 784], s.decoyShade[n], 'the swatch shade');
          assert.equal(s.saliency[r * 28 + c + n * 784], 0, 'never in the human map');
        }
      }
    }
    assert.equal(corners.size, 4, 'all four corners occur');
    const clean = buildMnist({ seed: 3 });
    assert.equal(clean.train.decoyMask.reduce((a, b) => a + b, 0), 0, 'clean MNIST has no shortcut');
  });

  it('is exported for the torch engine as <split>-shortcut.npy, equal to what the tfjs engine loads', () => {
    const env = { SGT_MAX_TRAIN_IMAGES: '40', SGT_MAX_EVAL_IMAGES: '15' };
    const resolved = { name: 'd', seed: 4, data: { source: { type: 'builtin', name: 'decoy-mnist' } }, guidance: { loss: 'rrr', irrelevant: 'shortcut' } };
    const runDir = path.join(tmp, 'runs', 'run-d');
    fs.mkdirSync(runDir, { recursive: true });
    const { dir } = exportRunData(runDir, resolved, env);
    const expected = loadRunSamples(dataSpec(resolved, runDir, env));
    for (const split of ['train', 'val', 'test'] as const) {
      const s = expected[split];
      const got = readNpy(path.join(dir, `${split}-shortcut.npy`));
      assert.deepEqual(got.shape, [s.count, 28, 28]);
      assert.deepEqual(Uint8Array.from(got.values), s.decoyMask, split);
      assert.equal(s.decoyMask.reduce((a, b) => a + b, 0), 16 * s.count);
    }
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')).format, DATA_EXPORT_FORMAT);
  });
});
