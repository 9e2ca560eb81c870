#!/usr/bin/env node
// Generates the `shapes` example data set: 40 grayscale 32×32 PNGs of one
// bright circle or square on a noisy dark background, their labels, and a human
// saliency map (the shape's mask, slightly blurred) for 30 of them (75%).
//
//   node examples/shapes/generate.mjs
//
// Deterministic (seeded PRNG, fixed deflate level): re-running it with the same
// Node version reproduces the committed files byte for byte. Circles and
// squares have the same area, so only the outline tells them apart.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';

const { PNG } = pngjs;
const here = dirname(fileURLToPath(import.meta.url));
const SIZE = 32;
const COUNT = 40;
const ANNOTATED = 30;
const SEED = 20240611;

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
/** Standard normal sample (Box–Muller). */
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** 1 inside the shape, 0 outside, sampled at pixel centres. */
function shapeMask(label) {
  const radius = uniform(5, 10);
  // a square with the circle's area: side = r·√π
  const half = label === 'circle' ? radius : (radius * Math.sqrt(Math.PI)) / 2;
  const cx = uniform(half + 1, SIZE - half - 1);
  const cy = uniform(half + 1, SIZE - half - 1);
  const mask = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const inside = label === 'circle' ? dx * dx + dy * dy <= radius * radius : Math.abs(dx) <= half && Math.abs(dy) <= half;
      mask[y * SIZE + x] = inside ? 1 : 0;
    }
  }
  return mask;
}

/** 3×3 box blur (edges clamped); applied twice it approximates a small Gaussian. */
function blur(values) {
  const out = new Float32Array(values.length);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = Math.min(SIZE - 1, Math.max(0, y + dy));
          const xx = Math.min(SIZE - 1, Math.max(0, x + dx));
          sum += values[yy * SIZE + xx];
        }
      }
      out[y * SIZE + x] = sum / 9;
    }
  }
  return out;
}

/** An 8-bit grayscale PNG from values in [0, 255]. */
function grayscalePng(values) {
  const png = new PNG({ width: SIZE, height: SIZE });
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(Math.min(255, Math.max(0, values[i])));
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0, deflateLevel: 9 });
}

const labels = shuffled(Array.from({ length: COUNT }, (_, i) => (i % 2 === 0 ? 'circle' : 'square')));
const annotated = new Set(shuffled(labels.map((_, i) => i)).slice(0, ANNOTATED));

for (const dir of ['images', 'saliency']) {
  rmSync(join(here, dir), { recursive: true, force: true });
  mkdirSync(join(here, dir));
}
const csv = ['file,label'];
labels.forEach((label, i) => {
  const file = `shape_${String(i).padStart(3, '0')}.png`;
  const mask = shapeMask(label);
  const background = uniform(30, 70);
  const foreground = uniform(170, 230);
  const image = mask.map((m) => background + m * (foreground - background) + 14 * gaussian());
  writeFileSync(join(here, 'images', file), grayscalePng(image));
  if (annotated.has(i)) writeFileSync(join(here, 'saliency', file), grayscalePng(blur(blur(mask)).map((m) => 255 * m)));
  csv.push(`${file},${label}`);
});
writeFileSync(join(here, 'labels.csv'), csv.join('\n') + '\n');
console.log(`shapes: ${COUNT} images, ${ANNOTATED} saliency maps in ${here}`);
