/**
 * The tfjs engine's architectures, written with explicit variables so a loss can reach
 * the guided features F and the classifier weights W (CAM = W[k]·F needs both).
 *
 * THE DEFINITIONS (the torch engine must mirror them exactly):
 *
 * Notation: conv3(c→d, s) = 3×3 convolution, stride s, zero padding 1 on every side (torch
 * `Conv2d(c, d, 3, stride=s, padding=1)`; output side ⌈n/s⌉), with bias; conv1(c→d, s) =
 * 1×1 convolution, stride s, no padding, with bias; pool = 2×2 max-pool, stride 2, no
 * padding (torch `MaxPool2d(2)`; output side ⌊n/2⌋); GAP = mean over height and width;
 * linear(c→k) with bias. Input: N×S×S×C in [0, 1], C = 1 (grayscale) or 3 (RGB); with
 * `data.normalize` the model first computes (x − mean[c]) / std[c] per channel
 * (data/normalize.ts), else the input is used as it is. No batch norm and no dropout anywhere: training is deterministic and the
 * same network runs in training and evaluation.
 *
 * - `small_cnn` (width w, default 32):
 *     h1 = relu(conv3(C→w, 1)(x))
 *     h2 = relu(conv3(w→2w, 1)(pool(h1)))
 *     F  = relu(conv3(2w→4w, 1)(pool(h2)))       `layer = final`: ⌊⌊S/2⌋/2⌋² × 4w (7×7 at 28 px)
 *     logits = linear(4w→k)(GAP(F))
 *   `layer = mid` is h2.
 * - `small_resnet` (width w; ResNet-8 style, 3 stages of one basic block, no batch norm):
 *     h0 = relu(conv3(C→w, 1)(x))
 *     block(c→d, s)(h) = relu(conv3(d→d, 1)(relu(conv3(c→d, s)(h))) + shortcut(h)),
 *       shortcut = h when s = 1 and c = d, else conv1(c→d, s)(h)
 *     h1 = block(w→w, 1)(h0); h2 = block(w→2w, 2)(h1); F = block(2w→4w, 2)(h2)
 *     logits = linear(4w→k)(GAP(F))                (F: ⌈S/4⌉ × ⌈S/4⌉ × 4w)
 *   `layer = mid` is h2.
 * - `mlp` (hidden sizes h₁…hₙ, default [50, 30], Ross et al.): x flattened in
 *   row-major (y, x, channel) order, then relu(linear) per hidden size, then linear(hₙ→k).
 *   No spatial features, so no CAM.
 *
 * Parameter layout (tfjs): conv weights [kh, kw, in, out] (torch: [out, in, kh, kw]);
 * linear weights [in, out] (torch: [out, in]); biases [out].
 *
 * Initialisation, deterministic for a seed: one generator `createRng(seed, 1001)`
 * (data/rng.ts, sfc32), parameters in declaration order (the order of `params`), each
 * weight filled in its tfjs layout's row-major order with standard normals from
 * Box–Muller (u₁ = 1 − rng.float(), u₂ = rng.float(), z = √(−2 ln u₁)·cos(2π u₂), one
 * normal per pair of draws) times the scale:
 *   conv weights: He normal, σ = √(2 / (kh·kw·in));
 *   linear weights: hidden layers He normal σ = √(2 / in); the classifier σ = √(1 / in);
 *   biases: 0.
 */
import type { Normalization } from '../../data/normalize';
import { createRng } from '../../data/rng';
import { tf } from './tf';

export type Arch = 'small_cnn' | 'small_resnet' | 'mlp';
export const TFJS_ARCHS: readonly Arch[] = ['small_cnn', 'small_resnet', 'mlp'];

export interface ModelSpec {
  arch: Arch;
  /** Channels of the first conv block (small_cnn, small_resnet). */
  width: number;
  /** Hidden sizes (mlp). */
  hidden: number[];
  imageSize: number;
  channels: number;
  classes: number;
  seed: number;
  /** Input standardisation applied before the first layer (data/normalize.ts); absent: none. */
  normalize?: Normalization;
}

export interface Param {
  /** Stable name, e.g. `conv1.weight` (checkpoints use it). */
  name: string;
  variable: tf.Variable;
}

export interface ForwardResult {
  logits: tf.Tensor2D;
  /** Features of the guided layer (`layer = final`): N×h×w×C; absent for the MLP. */
  features?: tf.Tensor4D;
}

/**
 * The forward pass cut at the guidance layers (attribution.ts takes gradients of the logits
 * with respect to the features where it cuts): x (images as loaded, before `data.normalize`)
 * → mid features → final features F → logits. `forward` is exactly toLogits(toFinal(toMid(x))).
 */
export interface Stages {
  toMid(x: tf.Tensor4D): tf.Tensor4D;
  toFinal(mid: tf.Tensor4D): tf.Tensor4D;
  toLogits(features: tf.Tensor4D): tf.Tensor2D;
}

export interface Model {
  spec: ModelSpec;
  params: Param[];
  forward(x: tf.Tensor4D): ForwardResult;
  /** The forward pass in stages (`layer = mid | final`); absent for the MLP. */
  stages?: Stages;
  /** The classifier weights W [C, classes] multiplying GAP(F): what CAM needs; absent for the MLP. */
  headWeight?: tf.Variable;
  /** h×w of the CAM / guided features; absent for the MLP. */
  featureSize?: number;
  dispose(): void;
}

export const INIT_STREAM = 1001;

/** Standard normals from the data RNG (Box–Muller, one normal per pair of draws). */
class NormalSource {
  private readonly rng;
  constructor(seed: number) {
    this.rng = createRng(seed, INIT_STREAM);
  }
  fill(count: number, scale: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const u1 = 1 - this.rng.float();
      const u2 = this.rng.float();
      out[i] = scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return out;
  }
}

let modelCounter = 0;

/** Creates parameters in declaration order: the order fixes both initial values and checkpoint layout. */
class ParamBuilder {
  readonly params: Param[] = [];
  private readonly normals: NormalSource;
  private readonly prefix = `m${++modelCounter}/`;

  constructor(seed: number) {
    this.normals = new NormalSource(seed);
  }

  private add(name: string, shape: number[], values: Float32Array): tf.Variable {
    // tfjs variable names are global: prefix them so several models can coexist (tests, evaluation)
    const variable = tf.variable(tf.tensor(values, shape), true, this.prefix + name);
    this.params.push({ name, variable });
    return variable;
  }

  weight(name: string, shape: number[], fanIn: number, gain: number): tf.Variable {
    return this.add(name, shape, this.normals.fill(shape.reduce((a, b) => a * b, 1), Math.sqrt(gain / fanIn)));
  }

  bias(name: string, size: number): tf.Variable {
    return this.add(name, [size], new Float32Array(size));
  }

  conv(name: string, k: number, cin: number, cout: number): { w: tf.Variable; b: tf.Variable } {
    return { w: this.weight(`${name}.weight`, [k, k, cin, cout], k * k * cin, 2), b: this.bias(`${name}.bias`, cout) };
  }

  linear(name: string, cin: number, cout: number, gain: number): { w: tf.Variable; b: tf.Variable } {
    return { w: this.weight(`${name}.weight`, [cin, cout], cin, gain), b: this.bias(`${name}.bias`, cout) };
  }
}

type Conv = { w: tf.Variable; b: tf.Variable };

function conv(x: tf.Tensor4D, c: Conv, stride: number, pad: number): tf.Tensor4D {
  return tf.add(tf.conv2d(x, c.w as tf.Tensor4D, stride, pad), c.b);
}

function linear(x: tf.Tensor2D, l: Conv): tf.Tensor2D {
  return tf.add(tf.matMul(x, l.w as tf.Tensor2D), l.b);
}

function pool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}

function gap(f: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(f, [1, 2]);
}

function staged(stages: Stages): Model['forward'] {
  return (x) => {
    const features = stages.toFinal(stages.toMid(x));
    return { features, logits: stages.toLogits(features) };
  };
}

function finish(spec: ModelSpec, b: ParamBuilder, forward: Model['forward'], head?: Conv, featureSize?: number, stages?: Stages): Model {
  return {
    spec,
    params: b.params,
    forward,
    stages,
    headWeight: head?.w,
    featureSize,
    dispose: () => b.params.forEach((p) => p.variable.dispose()),
  };
}

function smallCnn(spec: ModelSpec): Model {
  const { width: w, channels: c, classes: k, imageSize: s } = spec;
  const b = new ParamBuilder(spec.seed);
  const c1 = b.conv('conv1', 3, c, w);
  const c2 = b.conv('conv2', 3, w, 2 * w);
  const c3 = b.conv('conv3', 3, 2 * w, 4 * w);
  const head = b.linear('head', 4 * w, k, 1);
  const stages: Stages = {
    toMid: (x) => tf.relu(conv(pool(tf.relu(conv(x, c1, 1, 1))), c2, 1, 1)), // h2
    toFinal: (h2) => tf.relu(conv(pool(h2), c3, 1, 1)),
    toLogits: (features) => linear(gap(features), head),
  };
  return finish(spec, b, staged(stages), head, Math.floor(Math.floor(s / 2) / 2), stages);
}

function smallResnet(spec: ModelSpec): Model {
  const { width: w, channels: c, classes: k, imageSize: s } = spec;
  const b = new ParamBuilder(spec.seed);
  const stem = b.conv('stem', 3, c, w);
  const block = (name: string, cin: number, cout: number, stride: number) => {
    const a = b.conv(`${name}.conv1`, 3, cin, cout);
    const bb = b.conv(`${name}.conv2`, 3, cout, cout);
    const shortcut = stride !== 1 || cin !== cout ? b.conv(`${name}.shortcut`, 1, cin, cout) : undefined;
    return (h: tf.Tensor4D): tf.Tensor4D => {
      const y = conv(tf.relu(conv(h, a, stride, 1)), bb, 1, 1);
      return tf.relu(tf.add(y, shortcut ? conv(h, shortcut, stride, 0) : h)) as tf.Tensor4D;
    };
  };
  const stage1 = block('stage1', w, w, 1);
  const stage2 = block('stage2', w, 2 * w, 2);
  const stage3 = block('stage3', 2 * w, 4 * w, 2);
  const head = b.linear('head', 4 * w, k, 1);
  const stages: Stages = {
    toMid: (x) => stage2(stage1(tf.relu(conv(x, stem, 1, 1)))), // h2
    toFinal: (h2) => stage3(h2),
    toLogits: (features) => linear(gap(features), head),
  };
  return finish(spec, b, staged(stages), head, Math.ceil(Math.ceil(s / 2) / 2), stages);
}

function mlp(spec: ModelSpec): Model {
  const { channels: c, classes: k, imageSize: s, hidden } = spec;
  const b = new ParamBuilder(spec.seed);
  const sizes = [s * s * c, ...hidden];
  const layers = hidden.map((h, i) => b.linear(`fc${i + 1}`, sizes[i], h, 2));
  const head = b.linear('head', sizes[sizes.length - 1], k, 1);
  const forward = (x: tf.Tensor4D): ForwardResult => {
    let h = tf.reshape(x, [x.shape[0], s * s * c]) as tf.Tensor2D;
    for (const l of layers) h = tf.relu(linear(h, l));
    return { logits: linear(h, head) };
  };
  return finish(spec, b, forward);
}

export class ModelError extends Error {}

export function createModel(spec: ModelSpec): Model {
  const model = createArchitecture(spec);
  const norm = spec.normalize;
  if (!norm) return model;
  const mean = tf.tensor1d(norm.mean);
  const invStd = tf.tensor1d(norm.std.map((s) => 1 / s));
  const inner = model.forward;
  // broadcast over the channels-last axis; the constants are not parameters (nothing to train or checkpoint)
  const standardise = (x: tf.Tensor4D) => tf.mul(tf.sub(x, mean), invStd) as tf.Tensor4D;
  const stages = model.stages;
  return {
    ...model,
    forward: (x) => inner(standardise(x)),
    stages: stages && { ...stages, toMid: (x) => stages.toMid(standardise(x)) },
    dispose: () => {
      model.dispose();
      mean.dispose();
      invStd.dispose();
    },
  };
}

function createArchitecture(spec: ModelSpec): Model {
  switch (spec.arch) {
    case 'small_cnn':
      if (spec.imageSize < 4) throw new ModelError(`small_cnn needs images of at least 4 px (two 2×2 poolings), got ${spec.imageSize}`);
      return smallCnn(spec);
    case 'small_resnet':
      return smallResnet(spec);
    case 'mlp':
      return mlp(spec);
    default:
      throw new ModelError(`the tfjs engine has no architecture '${String(spec.arch)}' (it trains ${TFJS_ARCHS.join(', ')}; torchvision models need the torch engine)`);
  }
}

/** Number of trainable values. */
export function parameterCount(model: Model): number {
  return model.params.reduce((n, p) => n + p.variable.size, 0);
}
