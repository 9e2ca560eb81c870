// Input normalisation: x' = (x − mean) / std per channel, applied by the engines as the first
// operation of the model (so images, overlays and human maps stay in [0, 1] everywhere else).
//
// Why it matters beyond convergence speed: with zero padding, a network fed raw [0, 1] images
// sees padding that looks exactly like the black background, so it cannot tell where the
// image border is; after standardisation the background is negative and the padding (0) is
// not, and corner positions become visible to the convolutions. That is how a CNN can learn
// positional shortcuts such as Decoy MNIST's corner swatch, as PyTorch pipelines with
// `transforms.Normalize` routinely do.

import type { ImageSet } from './image-set';

export type NormalizeChoice = 'none' | 'dataset' | 'imagenet';

export interface Normalization {
  /** Per channel (1 or 3 values). */
  mean: number[];
  /** Per channel, > 0. */
  std: number[];
}

/** torchvision's ImageNet statistics (RGB), what pretrained backbones expect. */
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * Per-channel float64 sums of pixel values (interleaved channels, channels last), in the
 * order they are added: adding a data set image by image sums exactly as adding it at once,
 * so a streamed pass (data/folder-export.ts) gets channelStatistics's numbers bit for bit.
 */
export class ChannelSums {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private values = 0;

  constructor(private readonly channels: number) {
    this.sum = new Float64Array(channels);
    this.sumSq = new Float64Array(channels);
  }

  /** Adds whole pixels (`values.length` a multiple of the channel count, channel 0 first). */
  add(values: ArrayLike<number>): void {
    const c = this.channels;
    const { sum, sumSq } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      sum[i % c] += v;
      sumSq[i % c] += v * v;
    }
    this.values += values.length;
  }

  /** Mean and population standard deviation per channel of everything added. */
  statistics(): Normalization {
    const n = this.values / this.channels;
    const mean = Array.from(this.sum, (s) => (n > 0 ? s / n : 0));
    // a constant channel (or an empty set) keeps std 1: dividing by ~0 would blow the input up
    const std = Array.from(this.sumSq, (s, ch) => {
      const variance = n > 0 ? s / n - mean[ch] * mean[ch] : 0;
      return variance > 1e-12 ? Math.sqrt(variance) : 1;
    });
    return { mean, std };
  }
}

/** Per-channel mean and population standard deviation over every pixel of `set` (accumulated in float64). */
export function channelStatistics(set: ImageSet): Normalization {
  const sums = new ChannelSums(set.channels);
  sums.add(set.images);
  return sums.statistics();
}

export class NormalizationError extends Error {}

/**
 * The normalisation a run uses: statistics of the training split (`dataset`, computed on the
 * training images only, never validation or test), ImageNet's (`imagenet`, RGB only), or none.
 */
export function resolveNormalization(choice: NormalizeChoice, train: ImageSet): Normalization | undefined {
  switch (choice) {
    case 'none':
      return undefined;
    case 'dataset':
      return channelStatistics(train);
    case 'imagenet':
      if (train.channels !== 3) {
        throw new NormalizationError(`data.normalize = imagenet needs RGB images, but this data set has ${train.channels} channel(s): use normalize = dataset`);
      }
      return IMAGENET_NORMALIZATION;
  }
}
