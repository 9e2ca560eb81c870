import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { renderOverlay } from '../../server/src/engines/tfjs/overlay';
import { colormap } from '../../server/src/runs/colormap';
import { blend, decodePng, rgbOf } from '../../server/src/runs/png';
import {
  composeDataGrid,
  composeRunGrid,
  experimentOfRunDir,
  HUMAN_ALPHA,
  MAX_TILE,
  pickFolderSamples,
  previewContextFor,
  tileFor,
} from '../../server/src/language-server/saliency-preview';

describe('saliency previews: thumbnail composition', () => {
  it('tileFor: whole-factor upscaling up to MAX_TILE, larger images at MAX_TILE', () => {
    assert.equal(tileFor(28), 56);
    assert.equal(tileFor(32), 64);
    assert.equal(tileFor(7), 70);
    assert.equal(tileFor(100), MAX_TILE);
    assert.equal(tileFor(MAX_TILE), MAX_TILE);
  });

  it('composeDataGrid: image on top, colour-mapped human map blended over the grey image below, dimmed without a map', () => {
    // 2×2 images; sample 0 has a map with one salient pixel (top-left), sample 1 has none
    const a = { image: Float32Array.from([1, 0.5, 0, 0.25]), channels: 1, size: 2, human: Float32Array.from([4, 0, 0, 0]) };
    const b = { image: Float32Array.from([0.2, 0.2, 0.2, 0.2]), channels: 1, size: 2 };
    const c = composeDataGrid([a, b], 4);
    assert.equal(c.width, 4 + 2 + 4);
    assert.equal(c.height, 4 + 2 + 4);
    // top row: the image, nearest-neighbour upscaled ×2
    assert.deepEqual(c.get(0, 0), [255, 255, 255]);
    assert.deepEqual(c.get(1, 1), [255, 255, 255]);
    assert.deepEqual(c.get(2, 0), [128, 128, 128]);
    assert.deepEqual(c.get(3, 3), [64, 64, 64]);
    // bottom row (y ≥ 6): human map normalised to [0, 1], coloured, blended 50 % over the grey image
    assert.deepEqual(c.get(0, 6), blend([255, 255, 255], colormap(1), HUMAN_ALPHA));
    assert.deepEqual(c.get(2, 6), blend([128, 128, 128], colormap(0), HUMAN_ALPHA));
    assert.deepEqual(c.get(0, 6), [192, 128, 128], 'salient = red (jet at 1) over white');
    // the gap between tiles and rows
    assert.deepEqual(c.get(4, 0), [32, 32, 32]);
    assert.deepEqual(c.get(0, 4), [32, 32, 32]);
    // sample 1: image on top, dimmed image below (no map)
    assert.deepEqual(c.get(6, 0), [51, 51, 51]);
    assert.deepEqual(c.get(6, 6), blend([51, 51, 51], [32, 32, 32], 0.75));
    const png = decodePng(c.toPng());
    assert.deepEqual([png.width, png.height], [10, 10]);
  });

  it('composeRunGrid: image | human | CAM triplets, two per row, reduced by a whole factor from the engine overlays, pixel for pixel', () => {
    const size = 28;
    const image = Float32Array.from({ length: size * size }, (_, i) => (i % 29) / 28);
    const human = Float32Array.from({ length: size * size }, (_, i) => (i % size) / (size - 1));
    const cam = Float32Array.from({ length: 49 }, (_, i) => i / 48);
    const overlays = [0, 1, 2].map(() => decodePng(renderOverlay({ image, channels: 1, size, human, cam, camSize: 7 })));
    assert.equal(overlays[0].height, 112, 'engine panels are 112 px for 28 px images');
    const c = composeRunGrid(overlays)!;
    const tile = 56; // 112 / ceil(112 / 72)
    const triplet = 3 * tile + 2 * 2;
    assert.equal(c.width, 2 * triplet + 6);
    assert.equal(c.height, 2 * tile + 2);
    // the image panel: each source pixel is 4×4 in the overlay, 2×2 in the thumbnail
    for (const [x, y] of [[0, 0], [13, 5], [55, 55], [30, 41]]) {
      const src = Math.floor(y / 2) * size + Math.floor(x / 2);
      assert.deepEqual(c.get(x, y), rgbOf(image, 1, src), `image pixel ${x},${y}`);
      assert.deepEqual(c.get(triplet + 6 + x, y), rgbOf(image, 1, src), `second sample, beside the first ${x},${y}`);
      assert.deepEqual(c.get(x, tile + 2 + y), rgbOf(image, 1, src), `third sample, second row ${x},${y}`);
    }
    // the human panel (grey) and the CAM panel are the engine's own pixels at the same reduction
    const o = overlays[0];
    const at = (x: number, y: number) => [...o.rgba.subarray((y * o.width + x) * 4, (y * o.width + x) * 4 + 3)];
    assert.deepEqual(c.get(tile + 2 + 10, 20), at(114 + 20, 40));
    assert.deepEqual(c.get(2 * (tile + 2) + 30, 50), at(2 * 114 + 60, 100));
    assert.deepEqual(c.get(tile, 0), [32, 32, 32], 'gap');
    assert.deepEqual(c.get(triplet + 6 + tile + 2 + 5, tile + 2 + 5), [32, 32, 32], 'no fourth sample');
  });

  it('composeRunGrid: nothing for no overlays or a picture that is not three square panels', () => {
    assert.equal(composeRunGrid([]), undefined);
    assert.equal(composeRunGrid([{ width: 100, height: 40, rgba: new Uint8Array(100 * 40 * 4) }]), undefined);
  });
});

describe('saliency previews: samples, runs and context', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-prev-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const touch = (rel: string) => {
    fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    fs.writeFileSync(path.join(tmp, rel), PNG.sync.write(new PNG({ width: 2, height: 2 })));
  };

  it('pickFolderSamples: annotated images first (sorted, class folders too), then the rest, at most 4', () => {
    for (const f of ['images/cat/c1.png', 'images/cat/c2.png', 'images/dog/d1.jpg', 'images/a.png', 'images/b.png', 'images/notes.txt']) touch(f);
    for (const f of ['saliency/cat/c2.png', 'saliency/d1.png', 'saliency/b.png']) touch(f);
    const picked = pickFolderSamples(path.join(tmp, 'images'), path.join(tmp, 'saliency'));
    assert.deepEqual(
      picked.map((p) => [path.relative(tmp, p.image), p.map && path.relative(tmp, p.map)]),
      [
        ['images/b.png', 'saliency/b.png'],
        ['images/cat/c2.png', 'saliency/cat/c2.png'],
        ['images/dog/d1.jpg', 'saliency/d1.png'],
        ['images/a.png', undefined],
      ],
    );
    assert.deepEqual(pickFolderSamples(path.join(tmp, 'missing'), undefined), []);
  });

  it('pickFolderSamples with a boxes file: images with boxes first, each with its boxes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-pick-boxes-'));
    try {
      for (const f of ['a.png', 'b.png', 'c.png']) {
        fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'images', f), 'x');
      }
      fs.writeFileSync(path.join(dir, 'boxes.json'), '{"c.png": [[0, 0, 2, 2]], "b.png": [], "zz.png": [[0, 0, 1, 1]]}');
      const picked = pickFolderSamples(path.join(dir, 'images'), undefined, path.join(dir, 'boxes.json'));
      assert.deepEqual(
        picked.map((p) => [path.basename(p.image), p.boxes?.length ?? 0]),
        [['c.png', 1], ['a.png', 0], ['b.png', 0]],
      );
      fs.writeFileSync(path.join(dir, 'boxes.json'), '{not json');
      assert.ok(pickFolderSamples(path.join(dir, 'images'), undefined, path.join(dir, 'boxes.json')).every((p) => !p.boxes));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('previewContextFor: cache in the workspace, runs folder from the setting (relative or absolute), else .sgt/runs', () => {
    assert.deepEqual(previewContextFor('/ws', '/ws/a/x.sgt', undefined), { cacheDir: '/ws/.sgt/cache/previews', runsFolder: '/ws/.sgt/runs' });
    assert.deepEqual(previewContextFor('/ws', '/ws/x.sgt', 'out/runs'), { cacheDir: '/ws/.sgt/cache/previews', runsFolder: '/ws/out/runs' });
    assert.equal(previewContextFor('/ws', '/ws/x.sgt', '/abs/runs').runsFolder, '/abs/runs');
    assert.equal(previewContextFor(undefined, '/else/x.sgt', '  ').runsFolder, '/else/.sgt/runs');
    assert.deepEqual(previewContextFor(undefined, undefined, undefined), {});
  });

  it('experimentOfRunDir: the experiment from the run id, names with dashes included', () => {
    assert.equal(experimentOfRunDir('/r/decoy_ce-20260101-120000-abcd'), 'decoy_ce');
    assert.equal(experimentOfRunDir('/r/my-exp-20260101-120000-00ff'), 'my-exp');
  });
});
