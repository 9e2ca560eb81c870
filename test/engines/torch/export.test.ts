/**
 * The data export for the torch engine (data/export.ts, data/npy.ts): the exported arrays are
 * exactly what the tfjs engine loads (loadRunData) for the same experiment, built-in data sets
 * are cached per settings and reused, folder data goes into the run directory. Pure
 * TypeScript: runs without PyTorch.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataKey, dataSpec, exportRunData } from '../../../server/src/data/export';
import { encodeNpy, readNpy } from '../../../server/src/data/npy';
import { parseConfig } from '../../../server/src/engines/tfjs/config';
import { loadRunData } from '../../../server/src/engines/tfjs/data';

const root = path.resolve(__dirname, '..', '..', '..');

describe('data export for the torch engine', function () {
  this.timeout(60_000);
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-export-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes .npy files numpy reads: header aligned to 64 bytes, dtype, shape, values', () => {
    const b = encodeNpy(Float32Array.from([1, 2.5, -3, 4, 5, 6]), [2, 3]);
    assert.equal(b.toString('latin1', 0, 6), '\x93NUMPY');
    assert.equal((10 + b.readUInt16LE(8)) % 64, 0);
    assert.match(b.toString('latin1', 10, 10 + b.readUInt16LE(8)), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    const f = path.join(tmp, 'a.npy');
    fs.writeFileSync(f, b);
    assert.deepEqual(readNpy(f), { values: Float32Array.from([1, 2.5, -3, 4, 5, 6]), shape: [2, 3] });
    fs.writeFileSync(f, encodeNpy(Uint8Array.from([7]), [1]));
    assert.deepEqual(readNpy(f).shape, [1]);
    assert.throws(() => encodeNpy(Float32Array.from([1, 2]), [3]), /holds 3 values, got 2/);
  });

  for (const [name, resolved] of [
    ['builtin("decoy-mnist")', { name: 'd', seed: 5, data: { source: { type: 'builtin', name: 'decoy-mnist' }, image_size: 20, annotated: 0.4 }, guidance: { loss: 'cyborg' } }],
    ['folder(…) (examples/shapes)', { name: 's', seed: 2, baseDir: path.join(root, 'examples/shapes'), data: { source: { type: 'folder', path: '.' }, image_size: 16, labels: 'labels.csv', saliency: 'saliency' }, guidance: { missing_saliency: 'zeros' } }],
  ] as const) {
    it(`exports exactly the samples the tfjs engine loads: ${name}`, () => {
      const env = { SGT_MAX_TRAIN_IMAGES: '50', SGT_MAX_EVAL_IMAGES: '20' };
      const runDir = path.join(tmp, 'runs', `run-${resolved.name}`);
      fs.mkdirSync(runDir, { recursive: true });
      const first = exportRunData(runDir, resolved, env);
      assert.equal(first.written, true);
      const expected = loadRunData(parseConfig({ ...resolved, baseDir: 'baseDir' in resolved ? resolved.baseDir : runDir }, runDir), env);
      for (const split of ['train', 'val', 'test'] as const) {
        const s = expected[split];
        const got = (file: string) => readNpy(path.join(first.dir, `${split}-${file}.npy`));
        assert.deepEqual(got('images'), { values: s.images, shape: [s.count, s.size, s.size, s.channels] }, `${split} images`);
        assert.deepEqual(got('labels').values, s.labels, `${split} labels`);
        assert.deepEqual(got('saliency').values, s.saliency, `${split} saliency`);
        assert.deepEqual(got('has-saliency').values, s.hasSaliency ?? new Uint8Array(s.count).fill(1), `${split} has-saliency`);
      }
      assert.deepEqual(readNpy(path.join(first.dir, 'train-guided.npy')).values, expected.guided);
      const meta = JSON.parse(fs.readFileSync(path.join(first.dir, 'meta.json'), 'utf8'));
      assert.equal(meta.classes, expected.classes);
      assert.deepEqual(meta.counts, { train: expected.train.count, val: expected.val.count, test: expected.test.count });

      if (resolved.data.source.type === 'builtin') {
        // cached per settings, next to the runs: a second run reuses it; other settings get their own
        assert.equal(first.dir, path.join(tmp, 'runs', '.cache', 'data', dataKey(dataSpec(resolved, runDir, env))));
        const other = path.join(tmp, 'runs', 'run-other');
        fs.mkdirSync(other);
        const again = exportRunData(other, resolved, env);
        assert.deepEqual([again.dir, again.written], [first.dir, false]);
        assert.notEqual(exportRunData(other, { ...resolved, seed: 6 }, env).dir, first.dir);
      } else {
        assert.equal(first.dir, path.join(runDir, 'data'), 'folder data is exported into the run directory');
        assert.equal(exportRunData(runDir, resolved, env).written, false, 'a resume reuses it');
      }
    });
  }
});
