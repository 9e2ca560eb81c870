import assert from 'node:assert/strict';
import { buildDecoyMnist, buildMnist } from '../../server/src/data/decoy-mnist';
import type { ImageSet, ImageSplits } from '../../server/src/data/image-set';
import { loadMnistDigits } from '../../server/src/data/mnist-source';

const SPLITS = ['train', 'val', 'test'] as const;

const view = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const key = (a: ArrayBufferView) => view(a).toString('base64');

function bytes(set: ImageSet): Buffer[] {
  return [set.images, set.labels, set.saliency, set.decoyMask, set.decoyShade].map(view);
}

function pixelsOf(array: Float32Array | Uint8Array, set: ImageSet, n: number) {
  const p = set.size * set.size;
  return array.subarray(n * p, (n + 1) * p);
}

/** The swatch of image n as {top, left, side}, read from its mask; asserts it is one square. */
function swatchOf(set: ImageSet, n: number) {
  const mask = pixelsOf(set.decoyMask, set, n);
  const S = set.size;
  const on: [number, number][] = [];
  mask.forEach((v, i) => v && on.push([Math.floor(i / S), i % S]));
  const top = Math.min(...on.map(([y]) => y));
  const left = Math.min(...on.map(([, x]) => x));
  const side = Math.round(Math.sqrt(on.length));
  assert.equal(side * side, on.length, `image ${n}: mask is not a square`);
  for (const [y, x] of on) assert.ok(y < top + side && x < left + side, `image ${n}: mask is not one block`);
  return { top, left, side };
}

const shade = (grey: number) => Math.fround(grey / 255);

describe('data/decoy-mnist', () => {
  let decoy: ImageSplits;
  let clean: ImageSplits;

  before(() => {
    decoy = buildDecoyMnist({ seed: 1 });
    clean = buildMnist({ seed: 1 });
  });

  it('is deterministic for a seed and differs for another seed', () => {
    const again = buildDecoyMnist({ seed: 1 });
    const other = buildDecoyMnist({ seed: 2 });
    for (const split of SPLITS) {
      assert.deepEqual(bytes(again[split]), bytes(decoy[split]), `${split} differs between two builds`);
      assert.notDeepEqual(bytes(other[split])[0], bytes(decoy[split])[0], `${split} is the same for seeds 1 and 2`);
    }
  });

  it('splits the 10,000 digits into 7,200 / 800 / 2,000 disjoint, class-balanced images', () => {
    assert.deepEqual(SPLITS.map((s) => decoy[s].count), [7200, 800, 2000]);
    const source = loadMnistDigits();
    const overall = classShares(source.labels);
    const seen = new Set<string>();
    for (const split of SPLITS) {
      const set = clean[split];
      assert.equal(set.images.length, set.count * 28 * 28);
      assert.equal(set.saliency.length, set.images.length);
      assert.equal(set.labels.length, set.count);
      classShares(set.labels).forEach((share, c) => assert.ok(Math.abs(share - overall[c]) < 0.005, `${split}: class ${c} share ${share} vs ${overall[c]}`));
      for (let n = 0; n < set.count; n++) seen.add(key(pixelsOf(set.images, set, n)));
    }
    const distinct = new Set<string>();
    for (let n = 0; n < source.count; n++) {
      distinct.add(key(source.images.subarray(n * 784, (n + 1) * 784)));
    }
    assert.equal(seen.size, distinct.size, 'every source digit lands in exactly one split');
  });

  it('gives clean MNIST and Decoy MNIST the same split for a seed', () => {
    for (const split of SPLITS) assert.deepEqual(clean[split].labels, decoy[split].labels);
    assert.ok(clean.train.decoyMask.every((v) => v === 0));
    assert.ok(clean.train.decoyShade.every((v) => v === -1));
  });

  it('puts exactly one 4×4 swatch with shade 255 − 25·y in a corner of every training and validation image', () => {
    for (const split of ['train', 'val'] as const) {
      const set = decoy[split];
      for (let n = 0; n < set.count; n++) {
        const { top, left, side } = swatchOf(set, n);
        assert.equal(side, 4);
        assert.ok([0, 24].includes(top) && [0, 24].includes(left), `${split} ${n}: swatch at (${top}, ${left})`);
        const expected = shade(255 - 25 * set.labels[n]);
        assert.equal(set.decoyShade[n], expected);
        const image = pixelsOf(set.images, set, n);
        const original = pixelsOf(clean[split].images, clean[split], n);
        const mask = pixelsOf(set.decoyMask, set, n);
        const wrong = image.findIndex((v, i) => v !== (mask[i] ? expected : original[i]));
        assert.equal(wrong, -1, `${split} ${n}: pixel ${wrong} is neither the digit nor the swatch`);
      }
    }
  });

  it('chooses each corner about a quarter of the time', () => {
    const corners = new Map<string, number>();
    for (let n = 0; n < decoy.train.count; n++) {
      const { top, left } = swatchOf(decoy.train, n);
      corners.set(`${top},${left}`, (corners.get(`${top},${left}`) ?? 0) + 1);
    }
    assert.equal(corners.size, 4);
    for (const [corner, count] of corners) assert.ok(Math.abs(count / decoy.train.count - 0.25) < 0.03, `corner ${corner}: ${count}`);
  });

  it('gives test swatches a random digit shade, uncorrelated with the label', () => {
    const test = decoy.test;
    const legal = new Set(Array.from({ length: 10 }, (_, d) => shade(255 - 25 * d)));
    let matches = 0;
    const perDigit = new Array<number>(10).fill(0);
    for (let n = 0; n < test.count; n++) {
      assert.equal(swatchOf(test, n).side, 4);
      const s = test.decoyShade[n];
      assert.ok(legal.has(s), `test ${n}: shade ${s}`);
      perDigit[Math.round((255 - s * 255) / 25)]++;
      if (s === shade(255 - 25 * test.labels[n])) matches++;
    }
    const share = matches / test.count;
    assert.ok(share > 0.07 && share < 0.13, `shade matches the label for ${share} of test images`);
    for (const count of perDigit) assert.ok(count > 140 && count < 260, `decoy digits: ${perDigit}`);
  });

  it('uses the digit strokes, never the swatch, as human saliency', () => {
    for (const split of SPLITS) {
      const set = decoy[split];
      for (let n = 0; n < set.count; n++) {
        const map = pixelsOf(set.saliency, set, n);
        const mask = pixelsOf(set.decoyMask, set, n);
        const digit = pixelsOf(clean[split].images, clean[split], n);
        const peak = Math.max(...digit);
        const wrong = map.findIndex((v, i) => v !== (mask[i] ? 0 : Math.fround(digit[i] / peak)));
        assert.equal(wrong, -1, `${split} ${n}: saliency at pixel ${wrong} is not the stroke (0 in the swatch)`);
        const max = Math.max(...map);
        assert.ok(max > 0.99 && max <= 1, `${split} ${n}: saliency peak ${max}`);
      }
      assert.deepEqual(clean[split].saliency.length, set.saliency.length);
    }
  });

  it("builds CDEP's variant: 5×5 swatch, test shade 25·y", () => {
    const cdep = buildDecoyMnist({ seed: 1, variant: 'cdep' });
    for (let n = 0; n < cdep.train.count; n += 7) {
      const { top, left, side } = swatchOf(cdep.train, n);
      assert.equal(side, 5);
      assert.ok([0, 23].includes(top) && [0, 23].includes(left));
      assert.equal(cdep.train.decoyShade[n], shade(255 - 25 * cdep.train.labels[n]));
    }
    for (let n = 0; n < cdep.test.count; n++) {
      assert.equal(swatchOf(cdep.test, n).side, 5);
      assert.equal(cdep.test.decoyShade[n], shade(25 * cdep.test.labels[n]));
    }
  });

  it('resizes to another image size, scaling the swatch with it', () => {
    const big = buildDecoyMnist({ seed: 1, imageSize: 56, testCount: 1000 });
    assert.equal(big.train.size, 56);
    assert.equal(big.test.count, 1000);
    assert.equal(big.train.images.length, big.train.count * 56 * 56);
    const { top, left, side } = swatchOf(big.train, 0);
    assert.equal(side, 8);
    assert.ok([0, 48].includes(top) && [0, 48].includes(left));
  });

  it('rejects bad options', () => {
    assert.throws(() => buildDecoyMnist({ seed: 1, variant: 'nope' as never }), /variant/);
    assert.throws(() => buildMnist({ seed: 1, imageSize: 4 }), /imageSize/);
    assert.throws(() => buildMnist({ seed: 1.5 }), /seed/);
    assert.throws(() => buildMnist({ seed: 1, testCount: 10_000 }), /testCount/);
  });

  it('has a shortcut: corner patches alone classify training-style decoys, but not the test split', () => {
    // Nearest class mean on the brightest of the four 4×4 corner patches: no digit involved.
    const features = (set: ImageSet, n: number) => {
      const S = set.size;
      let best: number[] = [];
      let bestSum = -1;
      for (const [top, left] of [[0, 0], [0, S - 4], [S - 4, 0], [S - 4, S - 4]]) {
        const patch: number[] = [];
        for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) patch.push(set.images[n * S * S + (top + y) * S + left + x]);
        const sum = patch.reduce((a, b) => a + b, 0);
        if (sum > bestSum) [best, bestSum] = [patch, sum];
      }
      return best;
    };
    const means = Array.from({ length: 10 }, () => new Array<number>(16).fill(0));
    const counts = new Array<number>(10).fill(0);
    for (let n = 0; n < decoy.train.count; n++) {
      const label = decoy.train.labels[n];
      counts[label]++;
      features(decoy.train, n).forEach((v, i) => (means[label][i] += v));
    }
    means.forEach((mean, c) => mean.forEach((_, i) => (mean[i] /= counts[c])));
    const accuracy = (set: ImageSet) => {
      let correct = 0;
      for (let n = 0; n < set.count; n++) {
        const f = features(set, n);
        const distances = means.map((mean) => mean.reduce((d, m, i) => d + (f[i] - m) ** 2, 0));
        if (distances.indexOf(Math.min(...distances)) === set.labels[n]) correct++;
      }
      return correct / set.count;
    };
    assert.ok(accuracy(decoy.train) > 0.95, 'train');
    assert.ok(accuracy(decoy.val) > 0.95, 'validation keeps the shortcut');
    assert.ok(accuracy(decoy.test) < 0.15, 'test removes the shortcut');
    assert.ok(accuracy(clean.test) < 0.2, 'clean digits carry no corner signal');
  });
});

function classShares(labels: Int32Array): number[] {
  const counts = new Array<number>(10).fill(0);
  labels.forEach((l) => counts[l]++);
  return counts.map((c) => c / labels.length);
}
