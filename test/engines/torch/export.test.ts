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
import { encodeNpy, isUnit8, readNpy, readUnitNpy, UNIT8_VALUES, unit8Code, writeNpy, writeUnitNpy } from '../../../server/src/data/npy';
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

  it('stores [0, 1] values as uint8 codes only when float32(b / 255) gives every one back exactly', () => {
    for (let b = 0; b < 256; b++) assert.equal(unit8Code(UNIT8_VALUES[b]), b);
    assert.equal(UNIT8_VALUES[255], 1);
    assert.equal(unit8Code(0.5), -1, 'between two codes');
    assert.equal(unit8Code(Math.fround(3 / 255) + 2 ** -30), -1, 'one ulp off a code');
    assert.equal(unit8Code(-0), -1, '-0 has other bits than code 0 gives back');
    assert.equal(unit8Code(1.5), -1);
    const on = Float32Array.from([0, 1, 3 / 255, 254 / 255, 1 / 255]);
    assert.equal(isUnit8(on), true);
    const f = path.join(tmp, 'u.npy');
    assert.equal(writeUnitNpy(f, on, [5]), 'unit8');
    assert.deepEqual(readNpy(f), { values: Uint8Array.from([0, 255, 3, 254, 1]), shape: [5] });
    assert.deepEqual(readUnitNpy(f), { values: on, shape: [5] });
    const off = Float32Array.from([0, 0.3]);
    assert.equal(writeUnitNpy(f, off, [1, 2]), 'float32');
    assert.deepEqual(readNpy(f), { values: off, shape: [1, 2] });
    assert.throws(() => writeUnitNpy(f, on, [4]), /holds 4 values, got 5/);
  });

  it('streams arrays larger than one write slice', () => {
    const n = (8 << 20) + 77; // one 8 MiB slice and a bit
    const values = new Uint8Array(n).map((_, i) => (i * 31) & 0xff);
    const f = path.join(tmp, 'big.npy');
    const same = (a: Uint8Array | Float32Array | Int32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(values));
    writeNpy(f, values, [n]);
    assert.ok(same(readNpy(f).values));
    const unit = Float32Array.from(values, (b) => UNIT8_VALUES[b]);
    assert.equal(writeUnitNpy(f, unit, [n]), 'unit8');
    assert.ok(same(readNpy(f).values));
  });

  it('stores Decoy MNIST at 28 px as uint8 (MNIST digits and swatches are k/255), the same values', () => {
    const env = { SGT_MAX_TRAIN_IMAGES: '40', SGT_MAX_EVAL_IMAGES: '10' };
    const resolved = { name: 'd28', seed: 3, data: { source: { type: 'builtin', name: 'decoy-mnist' }, image_size: 28 } };
    const runDir = path.join(tmp, 'runs28', 'run');
    fs.mkdirSync(runDir, { recursive: true });
    const out = exportRunData(runDir, resolved, env);
    const meta = JSON.parse(fs.readFileSync(path.join(out.dir, 'meta.json'), 'utf8'));
    assert.equal(meta.encodings['train-images'], 'unit8');
    assert.equal(meta.encodings['train-saliency'], 'float32');
    const expected = loadRunData(parseConfig({ ...resolved, baseDir: runDir }, runDir), env);
    const images = readNpy(path.join(out.dir, 'train-images.npy'));
    assert.equal(images.values.byteLength, expected.train.images.length, 'one byte per pixel');
    assert.deepEqual(readUnitNpy(path.join(out.dir, 'train-images.npy')).values, expected.train.images);
  });

  it('rebuilds a cache written in an older format instead of reading it', () => {
    const env = { SGT_MAX_TRAIN_IMAGES: '20', SGT_MAX_EVAL_IMAGES: '5' };
    const resolved = { name: 'old', seed: 9, data: { source: { type: 'builtin', name: 'mnist' }, image_size: 28 } };
    const runDir = path.join(tmp, 'runs-old', 'run');
    fs.mkdirSync(runDir, { recursive: true });
    const first = exportRunData(runDir, resolved, env);
    // an sgt-data/1 folder under today's key (as if the key had not changed): not complete, so rewritten
    const metaFile = path.join(first.dir, 'meta.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    fs.writeFileSync(metaFile, JSON.stringify({ ...meta, format: 'sgt-data/1', encodings: undefined }));
    const again = exportRunData(runDir, resolved, env);
    assert.equal(again.written, true);
    assert.equal(JSON.parse(fs.readFileSync(metaFile, 'utf8')).format, 'sgt-data/3');
    // and the key itself names the format, so an old cache folder is never even looked at
    assert.match(first.dir, /[0-9a-f]{24}$/);
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
        const unit = (file: string) => readUnitNpy(path.join(first.dir, `${split}-${file}.npy`));
        assert.deepEqual(unit('images'), { values: s.images, shape: [s.count, s.size, s.size, s.channels] }, `${split} images`);
        assert.deepEqual(got('labels').values, s.labels, `${split} labels`);
        assert.deepEqual(unit('saliency').values, s.saliency, `${split} saliency`);
        assert.deepEqual(got('has-saliency').values, s.hasSaliency ?? new Uint8Array(s.count).fill(1), `${split} has-saliency`);
      }
      assert.deepEqual(readNpy(path.join(first.dir, 'train-guided.npy')).values, expected.guided);
      const meta = JSON.parse(fs.readFileSync(path.join(first.dir, 'meta.json'), 'utf8'));
      assert.equal(meta.classes, expected.classes);
      // PNG files resized, then rounded to 8 bits, are stored as uint8; digits resized from 28 to 20 px are
      // not on the 8-bit grid, nor are Decoy MNIST's maps (a digit divided by its peak): float32
      assert.equal(meta.format, 'sgt-data/3');
      const expectUnit8 = resolved.data.source.type === 'folder';
      assert.deepEqual(meta.encodings, Object.fromEntries(['train', 'val', 'test'].flatMap((sp) => [[`${sp}-images`, expectUnit8 ? 'unit8' : 'float32'], [`${sp}-saliency`, expectUnit8 ? 'unit8' : 'float32']])));
      assert.equal(readNpy(path.join(first.dir, 'train-images.npy')).values instanceof Uint8Array, expectUnit8);
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
