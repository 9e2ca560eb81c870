/**
 * Gradients of gradients for the ops our models use (docs/engines.md has the findings).
 *
 * A guidance loss on GradCAM, input×gradient or RRR's input gradients differentiates a
 * gradient: the ops of the first backward pass (the "gradient ops") must themselves be
 * differentiable. TensorFlow.js 4.22 records them on the tape, so nested `tf.grad` /
 * `tf.valueAndGrad` inside `tf.variableGrads` work — but for two kinds of ops not correctly:
 *
 * 1. Gradient kernels without a registered gradient: `MaxPoolGrad` (max-pool) and
 *    `Conv2DBackpropFilter` (a conv's weight gradient) throw "gradient function not found".
 *    Registered here:
 *    - `MaxPoolGrad(dy, x, y)` is linear in dy: it routes each window's dy to the positions
 *      where x equals the window's maximum y. Its gradient w.r.t. dy gathers ddx from the
 *      same positions; w.r.t. x and y it is 0 (the routing is piecewise constant). Written
 *      for the non-overlapping, unpadded windows our models use (2×2, stride 2) with the
 *      windows as broadcastable axes. Of tied maxima the first in row-major order counts,
 *      the one the cpu kernel and torch route dy to: ties are common (a ReLU's zeros,
 *      constant backgrounds), and GradCAM at `mid` reads the routed gradient itself. Other
 *      poolings throw a clear error.
 *    - `Conv2DBackpropFilter(x, dy)` is bilinear: w.r.t. x it is the input gradient of a
 *      convolution with filter ddW, w.r.t. dy the convolution of x with ddW. (Our inner
 *      gradients are taken w.r.t. activations, never weights, so training does not need
 *      it; registered so a Hessian-vector product w.r.t. weights does not fail.)
 * 2. Gradients computed from the op's saved OUTPUT: `tf.logSoftmax` (a customGrad op that
 *    saves its value), `Softmax`, `Exp`, `Tanh`, `Sigmoid` … tfjs saves an output by cloning
 *    it *before* the op's own tape node is recorded, so the clone is not connected to the
 *    op's input on the tape and the second derivative silently misses every term through
 *    it (our probe: relative error ≈ 1 on logSoftmax, 7 % on softmax). RRR's input gradient
 *    of Σ_k log p_k goes through logSoftmax's gradient, so `logSoftmax` below is one whose
 *    gradient is computed from the saved INPUT (softmax recomputed from the logits: one exp
 *    over [N, classes]); the `Softmax` kernel's gradient is re-registered the same way.
 *    Cross-entropy keeps `tf.logSoftmax` (first order only, unchanged). Exp, Tanh and
 *    Sigmoid are not in our models' gradient paths and keep the stock gradients.
 *
 * Everything else in our models' first backward pass (Relu, Conv2D → Conv2DBackpropInput,
 * MatMul, Add with broadcasting, Mean, Sum, Mul, Sub, Reshape) already differentiates
 * correctly. Each registration is verified against finite differences in
 * test/engines/second-order.test.ts. Registering is global and idempotent (gradients are
 * per kernel name, for every backend), and first-order results are unchanged.
 */
import { tf } from './tf';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: unknown;
  dimRoundingMode?: string;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** ddy of MaxPoolGrad for 2×2 / stride 2 / unpadded pooling: Σ over each window of mask·ddx. */
function maxPoolGradGradDy(ddx: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor4D, attrs: PoolAttrs): tf.Tensor4D {
  const [fh, fw] = pair(attrs.filterSize);
  const [sh, sw] = pair(attrs.strides);
  const validPad = attrs.pad === 'valid' || attrs.pad === 0;
  if (fh !== 2 || fw !== 2 || sh !== 2 || sw !== 2 || !validPad) {
    throw new Error(`second-order gradients of max-pool support 2×2 windows with stride 2 and no padding (our models' pooling), got ${fh}×${fw} / ${sh}×${sw} / pad ${String(attrs.pad)}`);
  }
  const [n, , , c] = x.shape;
  const [, oh, ow] = y.shape;
  // the rows and columns a valid 2×2/2 pooling reads (an odd last row/column is dropped)
  const xs = x.shape[1] === 2 * oh && x.shape[2] === 2 * ow ? x : tf.slice(x, [0, 0, 0, 0], [n, 2 * oh, 2 * ow, c]);
  const dd = ddx.shape[1] === 2 * oh && ddx.shape[2] === 2 * ow ? ddx : tf.slice(ddx, [0, 0, 0, 0], [n, 2 * oh, 2 * ow, c]);
  const x5 = tf.reshape(xs, [n * oh, 2, ow, 2, c]);
  const y5 = tf.reshape(y, [n * oh, 1, ow, 1, c]);
  // 1 where x is its window's maximum (y ≥ x everywhere, so step(y − x) is 1 exactly off the maximum)
  const tied = tf.sub(1, tf.step(tf.sub(y5, x5)));
  // of tied maxima only the first in row-major order, the one the cpu kernel (and torch) routes dy to
  const score = tf.mul(tied, FIRST_IN_WINDOW());
  const mask = tf.step(tf.sub(score, tf.sub(tf.max(score, [1, 3], true), 0.5)));
  const picked = tf.sum(tf.mul(tf.reshape(dd, [n * oh, 2, ow, 2, c]), mask), [1, 3]);
  return tf.reshape(picked, [n, oh, ow, c]);
}

/** Window positions scored so that the first in row-major order scores highest. */
const FIRST_IN_WINDOW = () => tf.tensor5d([4, 3, 2, 1], [1, 2, 1, 2, 1]);

/** Depth of withExactPooling calls (synchronous: the flag is only read inside them). */
let exactPooling = 0;

/**
 * Runs `fn` (an attribution's backward pass) with max-pool gradients written as
 * differentiable ops — dy routed to the first maximum of each window by a constant mask —
 * instead of the MaxPoolGrad kernel: exact at ties on every backend (the wasm kernel of
 * wasm-kernels.ts gives dy to every tied maximum, which cross-entropy tolerates but
 * GradCAM at `mid` reads directly), and differentiable again without MaxPoolGrad's gradient.
 * Training steps outside keep the fast kernel.
 */
export function withExactPooling<T>(fn: () => T): T {
  exactPooling++;
  try {
    return fn();
  } finally {
    exactPooling--;
  }
}

/** [N·h, 2, w, 2, C] mask of the first maximum per 2×2 window; computed off the tape (zero gradient). */
const firstMaxMask = tf.customGrad(((x5: tf.Tensor, y5: tf.Tensor) => {
  const tied = tf.sub(1, tf.step(tf.sub(y5, x5)));
  const score = tf.mul(tied, FIRST_IN_WINDOW());
  const [m, , w, , c] = x5.shape;
  // the best score per window through a 2×2 max-pool of the windows laid out as an image
  const best = tf.reshape(tf.maxPool(tf.reshape(score, [m, 2, 2 * w, c]) as tf.Tensor4D, 2, 2, 'valid'), [m, 1, w, 1, c]);
  return {
    value: tf.step(tf.sub(score, tf.sub(best, 0.5))),
    gradFunc: () => [tf.zerosLike(x5), tf.zerosLike(y5)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x5: tf.Tensor, y5: tf.Tensor) => tf.Tensor;

function isTwoByTwo(attrs: PoolAttrs): boolean {
  const [fh, fw] = pair(attrs.filterSize);
  const [sh, sw] = pair(attrs.strides);
  return fh === 2 && fw === 2 && sh === 2 && sw === 2 && (attrs.pad === 'valid' || attrs.pad === 0);
}

/** dx of a 2×2 / stride-2 max-pool as mask · dy (differentiable in dy). */
function routeToFirstMax(dy: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D {
  const [n, hIn, wIn, c] = x.shape;
  const [, oh, ow] = y.shape;
  const xs = hIn === 2 * oh && wIn === 2 * ow ? x : tf.slice(x, [0, 0, 0, 0], [n, 2 * oh, 2 * ow, c]);
  const mask = firstMaxMask(tf.reshape(xs, [n * oh, 2, ow, 2, c]), tf.reshape(y, [n * oh, 1, ow, 1, c]));
  const dx = tf.reshape(tf.mul(tf.reshape(dy, [n * oh, 1, ow, 1, c]), mask), [n, 2 * oh, 2 * ow, c]) as tf.Tensor4D;
  return hIn === 2 * oh && wIn === 2 * ow ? dx : tf.pad(dx, [[0, 0], [0, hIn - 2 * oh], [0, wIn - 2 * ow], [0, 0]]);
}

let registered = false;

/** Registers the gradients above (once per process). */
export function registerSecondOrderGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as tf.Tensor4D[];
      const a = attrs as unknown as PoolAttrs;
      if (exactPooling > 0 && isTwoByTwo(a)) return { x: () => routeToFirstMax(dy as tf.Tensor4D, x, y) };
      // the stock gradient (tfjs-core's MaxPool_grad: the MaxPoolGrad kernel)
      return { x: () => tf.engine().runKernel('MaxPoolGrad', { dy: dy as tf.Tensor, input: x, output: y }, { filterSize: a.filterSize, strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode } as unknown as tf.NamedAttrMap) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['dy', 'input', 'output'],
    gradFunc: (ddx, saved, attrs) => {
      const [, x, y] = saved as tf.Tensor4D[];
      return {
        dy: () => maxPoolGradGradDy(ddx as tf.Tensor4D, x, y, attrs as unknown as PoolAttrs),
        input: () => tf.zerosLike(x),
        output: () => tf.zerosLike(y),
      };
    },
  });
  tf.registerGradient({
    kernelName: 'Conv2DBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as tf.Tensor4D[];
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      return {
        x: () => tf.conv2dTranspose(dy, ddw as tf.Tensor4D, x.shape, strides, pad as 'valid' | 'same' | number, dimRoundingMode),
        dy: () => tf.conv2d(x, ddw as tf.Tensor4D, strides, pad as 'valid' | 'same' | number, dataFormat === 'NCHW' ? 'NCHW' : 'NHWC', 1, dimRoundingMode),
      };
    },
  });
  tf.registerGradient({
    kernelName: 'Softmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => {
      const [logits] = saved;
      const dim = (attrs as unknown as { dim: number }).dim;
      // recomputed with logSoftmax's ops so this gradient is differentiable too
      const y = tf.exp(tf.logSoftmax(logits, dim));
      const dyTimesY = tf.mul(dy as tf.Tensor, y);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
    },
  });
}

/**
 * log softmax over the last axis with a correct second derivative (tf.logSoftmax's gradient
 * reads its saved output, see the header): what RRR differentiates twice.
 */
export const logSoftmax = tf.customGrad(((logits: tf.Tensor, save: tf.GradSaveFunc) => {
  save([logits]);
  return {
    value: tf.logSoftmax(logits),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.sub(dy, tf.mul(tf.sum(dy, -1, true), tf.softmax(saved[0]))),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (logits: tf.Tensor2D) => tf.Tensor2D;

registerSecondOrderGradients();
