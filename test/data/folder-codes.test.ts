/**
 * loadFolder keeps each image as 8-bit codes from the moment it is decoded (not the decoded
 * file), and its samples are exactly what converting the decoded files directly gives
 * (`toPixels`, rounded to 8 bits after resizing): grey, RGB and mixed folders, resized up and
 * down, maps included. Every value is k/255, which the torch export stores as uint8.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { decodeImage, loadFolder, toPixels } from '../../server/src/data/folder';
import { isUnit8 } from '../../server/src/data/npy';

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) p.data.set([...pixel(x, y), 255], (y * width + x) * 4);
  return PNG.sync.write(p);
}

describe('data/folder: 8-bit samples', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-codes-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [kind, colour] of [
    ['grey', (i: number) => (x: number, y: number): [number, number, number] => { const v = (x * 37 + y * 11 + i * 5) % 256; return [v, v, v]; }],
    ['RGB', (i: number) => (x: number, y: number): [number, number, number] => [(x * 37 + i) % 256, (y * 23) % 256, (x * y + 7 * i) % 256]],
    ['mixed', (i: number) => (x: number, y: number): [number, number, number] => (i % 2 ? [(x * 9) % 256, (x * 9) % 256, (x * 9) % 256] : [(x * 31) % 256, (y * 17) % 256, 200])],
  ] as const) {
    for (const size of [12, 40]) {
      it(`${kind} images resized from 23×19 to ${size} px are the direct conversion of each file`, () => {
        const lines = ['file,label'];
        for (let i = 0; i < 12; i++) {
          fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
          fs.mkdirSync(path.join(dir, 'saliency'), { recursive: true });
          fs.writeFileSync(path.join(dir, 'images', `im${i}.png`), png(23, 19, colour(i)));
          // an RGB map: its luminance is the human map
          if (i % 3) fs.writeFileSync(path.join(dir, 'saliency', `im${i}.png`), png(23, 19, (x, y) => [(x * 11) % 256, (y * 13) % 256, (i * 20) % 256]));
          lines.push(`im${i}.png,${i % 2 ? 'a' : 'b'}`);
        }
        fs.writeFileSync(path.join(dir, 'labels.csv'), lines.join('\n'));
        const d = loadFolder({ root: dir, imageSize: size, seed: 3, valFraction: 0.2, testFraction: 0.2 });
        const channels = kind === 'grey' ? 1 : 3;
        for (const s of [d.train, d.val, d.test]) {
          assert.equal(s.channels, channels);
          assert.ok(isUnit8(s.images) && isUnit8(s.saliency), 'every value k/255');
          s.files!.forEach((f, j) => {
            const want = new Float32Array(size * size * channels);
            toPixels(decodeImage(path.join(dir, 'images', f)), channels, size, want, 0);
            assert.deepEqual(s.images.subarray(j * want.length, (j + 1) * want.length), want, `${f} pixels`);
            const map = new Float32Array(size * size);
            const mapFile = path.join(dir, 'saliency', f);
            if (fs.existsSync(mapFile)) toPixels(decodeImage(mapFile), 1, size, map, 0);
            assert.deepEqual(s.saliency.subarray(j * size * size, (j + 1) * size * size), map, `${f} map`);
          });
        }
      });
    }
  }
});
