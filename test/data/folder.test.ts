import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { DataError, loadFolder } from '../../server/src/data/folder';

const shapes = path.join(__dirname, '../../examples/shapes');
const base = { imageSize: 16, seed: 1, valFraction: 0.1, testFraction: 0.1 };

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      p.data.set([r, g, b, 255], (y * width + x) * 4);
    }
  return PNG.sync.write(p);
}

describe('data/folder', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-folder-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (rel: string, data: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };

  it('loads the shapes example: every image, its label, and which images have human saliency', () => {
    const d = loadFolder({ root: shapes, ...base });
    const total = d.train.count + d.val.count + d.test.count;
    assert.equal(total, 40);
    assert.deepEqual(d.classNames, ['circle', 'square']);
    assert.equal(d.train.channels, 1);
    const annotated = [d.train, d.val, d.test].reduce((n, s) => n + s.hasSaliency!.reduce((a, b) => a + b, 0), 0);
    assert.equal(annotated, 30);
    assert.equal(d.warnings.length, 0);
    for (const v of d.train.images) assert.ok(v >= 0 && v <= 1);
    // a map that exists is not all zeros; an image without one has a zero map
    const i = d.train.hasSaliency!.indexOf(1);
    const px = 16 * 16;
    assert.ok(d.train.saliency.subarray(i * px, (i + 1) * px).some((v) => v > 0.5));
    const j = d.train.hasSaliency!.indexOf(0);
    if (j >= 0) assert.ok(d.train.saliency.subarray(j * px, (j + 1) * px).every((v) => v === 0));
  });

  it('is deterministic for a seed', () => {
    const a = loadFolder({ root: shapes, ...base });
    const b = loadFolder({ root: shapes, ...base });
    assert.deepEqual(a.train.files, b.train.files);
    assert.notDeepEqual(loadFolder({ root: shapes, ...base, seed: 2 }).train.files, a.train.files);
  });

  it('skips a corrupt image and a corrupt map with warnings naming the files', () => {
    write('images/a.png', png(8, 8, () => [255, 255, 255]));
    write('images/b.png', 'not a png');
    write('images/c.png', png(8, 8, () => [0, 0, 0]));
    write('labels.csv', 'file,label\na.png,x\nb.png,y\nc.png,y\n');
    write('saliency/a.png', 'garbage');
    const d = loadFolder({ root: dir, ...base, valFraction: 0, testFraction: 0 });
    assert.equal(d.train.count, 2);
    assert.equal(d.warnings.length, 2);
    assert.ok(d.warnings.some((w) => /images\/b\.png: not a readable PNG\/JPEG image/.test(w)), d.warnings.join('\n'));
    assert.ok(d.warnings.some((w) => /saliency\/a\.png: not a readable saliency map/.test(w)), d.warnings.join('\n'));
    assert.equal(d.train.hasSaliency!.reduce((a, b) => a + b, 0), 0);
  });

  it('keeps colour images as 3 channels and uses the split column', () => {
    write('images/r.png', png(10, 6, () => [255, 0, 0]));
    write('images/g.png', png(6, 6, () => [0, 255, 0]));
    write('labels.csv', 'r.png,red,train\ng.png,green,test\n');
    const d = loadFolder({ root: dir, ...base, imageSize: 4 });
    assert.equal(d.train.channels, 3);
    assert.equal(d.train.count, 1);
    assert.equal(d.test.count, 1);
    assert.deepEqual(Array.from(d.train.images.subarray(0, 3)), [1, 0, 0]);
  });

  it('reads labels from class sub-folders', () => {
    write('images/cat/1.png', png(4, 4, () => [9, 9, 9]));
    write('images/dog/2.png', png(4, 4, () => [200, 200, 200]));
    const d = loadFolder({ root: dir, ...base, valFraction: 0, testFraction: 0 });
    assert.deepEqual(d.classNames, ['cat', 'dog']);
  });

  it('fails with a DataError, not a crash, when nothing is readable', () => {
    write('images/x.png', 'nope');
    write('labels.csv', 'x.png,a\n');
    assert.throws(() => loadFolder({ root: dir, ...base }), (e: unknown) => e instanceof DataError && /No readable images/.test((e as Error).message));
  });
});
