#!/usr/bin/env node
// Generates the `shapes-boxes` example data set: 48 grayscale 40×32 PNGs (wider than tall,
// so the loader's centre crop matters) with one or two bright shapes, a circle and / or a
// square, on a noisy dark background, and their bounding boxes.
//
//   node examples/shapes-boxes/generate.mjs
//
//   images/img_NNN.png   the images
//   labels.csv           multi-label: circle, square or circle;square
//   labels-single.csv    the 32 images with one shape, single-label
//   boxes.json           {"img_000.png": [{"box": [x0, y0, x1, y1], "label": "circle"}, …], …}
//                        for 40 of the 48 images (the rest train on classification only)
//
// Boxes are in the image's pixels, end exclusive (x0 ≤ x < x1), as docs/dsl.md describes.
// Deterministic (seeded PRNG, fixed deflate level): re-running it with the same Node version
// reproduces the committed files byte for byte.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';

const { PNG } = pngjs;
const here = dirname(fileURLToPath(import.meta.url));
const W = 40;
const H = 32;
const COUNT = 48;
const BOXED = 40;
const SEED = 20261124;

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const uniform = (lo, hi) => lo + (hi - lo) * random();
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** A shape of `kind` whose box fits in [x, x + cell) × [0, H): its pixel mask and box. */
function shape(kind, xFrom, xTo) {
  const radius = uniform(4, 6.5);
  const half = kind === 'circle' ? radius : (radius * Math.sqrt(Math.PI)) / 2;
  const cx = uniform(xFrom + half + 1, xTo - half - 1);
  const cy = uniform(half + 1, H - half - 1);
  const mask = new Uint8Array(W * H);
  let x0 = W, y0 = H, x1 = 0, y1 = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (kind === 'circle' ? dx * dx + dy * dy <= radius * radius : Math.abs(dx) <= half && Math.abs(dy) <= half) {
        mask[y * W + x] = 1;
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1);
      }
    }
  }
  return { mask, box: [x0, y0, x1, y1] };
}

function grayscalePng(values) {
  const png = new PNG({ width: W, height: H });
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(Math.min(255, Math.max(0, values[i])));
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0, deflateLevel: 9 });
}

rmSync(join(here, 'images'), { recursive: true, force: true });
mkdirSync(join(here, 'images'));
const multi = ['file,label'];
const single = ['file,label'];
const boxes = {};
for (let i = 0; i < COUNT; i++) {
  const file = `img_${String(i).padStart(3, '0')}.png`;
  // a third of the images have both shapes (one in each half of the image, x ∈ [4, 36): the
  // centre crop keeps x ∈ [4, 36)), the others one, circles and squares alternating
  const kinds = i % 3 === 2 ? (random() < 0.5 ? ['circle', 'square'] : ['square', 'circle']) : [i % 2 === 0 ? 'circle' : 'square'];
  const cells = kinds.length === 2 ? [[4, 20], [20, 36]] : [[4, 36]];
  const shapes = kinds.map((k, j) => ({ kind: k, ...shape(k, cells[j][0], cells[j][1]) }));
  const background = uniform(30, 70);
  const foreground = uniform(170, 230);
  const image = new Float32Array(W * H).map((_, p) => (shapes.some((s) => s.mask[p]) ? foreground : background) + 14 * gaussian());
  writeFileSync(join(here, 'images', file), grayscalePng(image));
  const labels = [...new Set(kinds)].sort();
  multi.push(`${file},${labels.join(';')}`);
  if (kinds.length === 1) single.push(`${file},${kinds[0]}`);
  if (i < BOXED) boxes[file] = shapes.map((s) => ({ box: s.box, label: s.kind }));
}
writeFileSync(join(here, 'labels.csv'), multi.join('\n') + '\n');
writeFileSync(join(here, 'labels-single.csv'), single.join('\n') + '\n');
// one entry per line, so editor diagnostics point at the image's own line
const lines = Object.entries(boxes).map(([f, bs]) => `  ${JSON.stringify(f)}: [${bs.map((b) => `{"box": ${JSON.stringify(b.box)}, "label": ${JSON.stringify(b.label)}}`).join(', ')}]`);
writeFileSync(join(here, 'boxes.json'), `{\n${lines.join(',\n')}\n}\n`);
console.log(`shapes-boxes: ${COUNT} images (${single.length - 1} single-shape), boxes for ${BOXED} in ${here}`);
