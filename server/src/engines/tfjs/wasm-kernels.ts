/**
 * Training kernels for the wasm backend (tfjs-backend-wasm 4.22), composed from the
 * backend's own fast kernels so no C code has to be compiled:
 *
 * - `Conv2DBackpropFilter` (the weight gradient of every convolution) is missing on
 *   wasm. dW[kh,kw,ci,co] = Σ_{n,i,j} xpad[n, kh + s·i, kw + s·j, ci] · dy[n,i,j,co] is a
 *   "valid" Conv2D (XNNPACK) of xpad viewed as [Cin, H, W, N] (channels as the batch,
 *   images as channels) with dy viewed as a filter [oh, ow, N, Cout], dilated by the
 *   forward stride; its output [Cin, ≥KH, ≥KW, Cout] is cropped and transposed back.
 *   (An im2col with KH·KW slices + concat is ~10× slower: those kernels are slow on wasm.)
 *   With few input channels (KH·KW·Cin ≤ 32: the first layer) that convolution has a huge
 *   kernel and a tiny output and runs slowly; there dW is im2col — a convolution with an
 *   identity filter — then colsᵀ·dy on the GEMM.
 * - `Conv2DBackpropInput` exists on wasm but is a naive loop (~1.8 GFLOP/s). The input
 *   gradient is a stride-1 convolution of dy — dilated by the forward stride, i.e. with
 *   s−1 zeros between its rows and columns — with the spatially flipped, in/out-swapped
 *   filter, padded by KH−1−top above (and whatever makes the output H rows below);
 *   that runs on XNNPACK too.
 * - `MaxPoolGrad` exists on wasm but is slow (a quarter of a small_cnn training step). For
 *   the 2×2, stride-2, unpadded pooling our models use, the gradient is dy where the input
 *   equals its window's maximum, else 0: with the windows as broadcastable axes
 *   (x as [N·h, 2, w, 2, C], y and dy as [N·h, 1, w, 1, C]) that is dy − dy·step(y − x),
 *   element-wise XNNPACK kernels. Exact ties inside a window are common (a constant
 *   background gives four equal positive activations), and like the cpu kernel and PyTorch
 *   only the FIRST maximum in reading order receives the gradient: each window position
 *   has a rank (8, 4, 2, 1), the maxima keep theirs, a forward max-pool of those ranks
 *   finds the first. (Giving every tied maximum the gradient multiplied it by up to 4 on
 *   backgrounds.) Other poolings keep the original kernel.
 * - `Sum` over all axes but the last (every bias gradient) becomes a GEMM with a row of ones.
 * - `UnsortedSegmentSum` (the gradient of gather) is missing; it runs on the cpu
 *   backend's kernel, copying inputs over (small tensors; our models do not need it in
 *   the training step, it is there so an op never fails outright).
 *
 * Each replacement is checked numerically against the cpu backend in
 * test/engines/wasm-kernels.test.ts (strides 1 and 2, same / valid / explicit padding).
 */
import { tf } from './tf';

type TensorInfo = tf.TensorInfo;
type KernelBackend = tf.KernelBackend;
type KernelFunc = tf.KernelFunc;

type KernelArgs = Parameters<KernelFunc>[0];

/** A backend's kernel function, called directly (no tape, no engine bookkeeping). */
function kernelOf(name: string, backendName: string): KernelFunc {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`kernel ${name} is not registered for backend ${backendName}`);
  return k.kernelFunc;
}

/**
 * Runs backend kernels and disposes every intermediate result except the one returned.
 * (Reshape shares its input's data with a reference count: each result is released once.)
 */
class KernelScope {
  private readonly temps: TensorInfo[] = [];

  constructor(private readonly backend: KernelBackend) {}

  run(kernel: KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: object): TensorInfo {
    const out = kernel({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
    this.temps.push(out);
    return out;
  }

  /** Adds a tensor written directly to the backend, to be released with the others. */
  track(t: TensorInfo): void {
    this.temps.push(t);
  }

  keep(out: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== out) this.backend.disposeData(t.dataId);
    return out;
  }
}

interface WasmKernels {
  pad: KernelFunc;
  slice: KernelFunc;
  transpose: KernelFunc;
  reverse: KernelFunc;
  reshape: KernelFunc;
  conv2d: KernelFunc;
}

function wasmKernels(backendName: string): WasmKernels {
  return {
    pad: kernelOf('PadV2', backendName),
    slice: kernelOf('Slice', backendName),
    transpose: kernelOf('Transpose', backendName),
    reverse: kernelOf('Reverse', backendName),
    reshape: kernelOf('Reshape', backendName),
    conv2d: kernelOf('Conv2D', backendName),
  };
}

function checkNhwc(dataFormat: unknown, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`${kernel} (wasm): only NHWC is supported, got ${String(dataFormat)}`);
}

/** Patches up to this long (KH·KW·Cin) go through im2col + GEMM instead of the transposed convolution. */
export const IM2COL_MAX_PATCH = 32;

export function conv2dBackpropFilter(backendName: string): KernelFunc {
  const k = wasmKernels(backendName);
  const matMul = kernelOf('BatchMatMul', backendName);
  return ({ inputs, backend, attrs }: KernelArgs) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    checkNhwc(dataFormat, 'Conv2DBackpropFilter');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const [KH, KW, Cin, Cout] = filterShape;
    const { strideHeight: sh, strideWidth: sw, padInfo: p } = info;
    const s = new KernelScope(backend as KernelBackend);
    const K = KH * KW * Cin;
    if (K <= IM2COL_MAX_PATCH) {
      // few input channels (the first layer): the big-kernel convolution below is slow there.
      // im2col as a convolution with an identity filter, then colsᵀ · dy on the GEMM.
      const eye = new Float32Array(K * K);
      for (let i = 0; i < K; i++) eye[i * K + i] = 1;
      const filter = { dataId: (backend as KernelBackend).write(eye, [KH, KW, Cin, K], 'float32'), shape: [KH, KW, Cin, K], dtype: 'float32' as const };
      s.track(filter);
      const cols = s.run(k.conv2d, { x, filter }, { strides, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode });
      const M = tf.util.sizeFromShape(cols.shape) / K;
      const colsT = s.run(k.transpose, { x: s.run(k.reshape, { x: cols }, { shape: [M, K] }) }, { perm: [1, 0] });
      const r = s.run(
        matMul,
        { a: s.run(k.reshape, { x: colsT }, { shape: [1, K, M] }), b: s.run(k.reshape, { x: dy }, { shape: [1, M, Cout] }) },
        { transposeA: false, transposeB: false },
      );
      return s.keep(s.run(k.reshape, { x: r }, { shape: [KH, KW, Cin, Cout] }));
    }
    const padded =
      p.top || p.bottom || p.left || p.right
        ? s.run(k.pad, { x }, { paddings: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]], constantValue: 0 })
        : x;
    const xT = s.run(k.transpose, { x: padded }, { perm: [3, 1, 2, 0] });
    const dyT = s.run(k.transpose, { x: dy }, { perm: [1, 2, 0, 3] });
    const conv = s.run(k.conv2d, { x: xT, filter: dyT }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw] });
    const [, OH, OW] = conv.shape;
    const cropped = OH === KH && OW === KW ? conv : s.run(k.slice, { x: conv }, { begin: [0, 0, 0, 0], size: [Cin, KH, KW, Cout] });
    return s.keep(s.run(k.transpose, { x: cropped }, { perm: [1, 2, 0, 3] }));
  };
}

/** dy with s−1 zero rows (columns) after each row (column): [N, oh·sh, ow·sw, C]. */
function dilate(s: KernelScope, k: WasmKernels, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [N, oh, ow, C] = dy.shape;
  let t = dy;
  if (sh > 1) {
    t = s.run(k.reshape, { x: t }, { shape: [N * oh, 1, ow, C] });
    t = s.run(k.pad, { x: t }, { paddings: [[0, 0], [0, sh - 1], [0, 0], [0, 0]], constantValue: 0 });
  }
  if (sw > 1) {
    t = s.run(k.reshape, { x: t }, { shape: [N * oh * sh * ow, 1, C] });
    t = s.run(k.pad, { x: t }, { paddings: [[0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
  }
  return t === dy ? dy : s.run(k.reshape, { x: t }, { shape: [N, oh * sh, ow * sw, C] });
}

export function conv2dBackpropInput(backendName: string, original: KernelFunc): KernelFunc {
  const k = wasmKernels(backendName);
  return (args: KernelArgs) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    checkNhwc(dataFormat, 'Conv2DBackpropInput');
    const [KH, KW] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { strideHeight: sh, strideWidth: sw, padInfo: p, inHeight: H, inWidth: W } = info;
    const top = KH - 1 - p.top;
    const left = KW - 1 - p.left;
    // a padding wider than the filter has no simple transpose: leave it to the original kernel
    if (top < 0 || left < 0) return original(args);
    const s = new KernelScope(backend as KernelBackend);
    const dyd = dilate(s, k, dy, sh, sw);
    const [, DH, DW] = dyd.shape;
    // rows below so the stride-1 "full" correlation has exactly H rows; negative: crop after
    const bottom = H + KH - 1 - DH - top;
    const right = W + KW - 1 - DW - left;
    const flipped = s.run(k.transpose, { x: s.run(k.reverse, { x: filter }, { dims: [0, 1] }) }, { perm: [0, 1, 3, 2] });
    const conv = s.run(
      k.conv2d,
      { x: dyd, filter: flipped },
      {
        strides: 1,
        pad: [[0, 0], [top, Math.max(bottom, 0)], [left, Math.max(right, 0)], [0, 0]],
        dataFormat: 'NHWC',
        dilations: 1,
      },
    );
    if (bottom >= 0 && right >= 0) return s.keep(conv);
    return s.keep(s.run(k.slice, { x: conv }, { begin: [0, 0, 0, 0], size: [conv.shape[0], H, W, conv.shape[3]] }));
  };
}

export function maxPoolGrad(backendName: string, original: KernelFunc): KernelFunc {
  const sub = kernelOf('Sub', backendName);
  const step = kernelOf('Step', backendName);
  const mul = kernelOf('Multiply', backendName);
  const reshape = kernelOf('Reshape', backendName);
  const slice = kernelOf('Slice', backendName);
  const pad = kernelOf('PadV2', backendName);
  const maxPool = kernelOf('MaxPool', backendName);
  const two = (v: unknown) => v === 2 || (Array.isArray(v) && v.length === 2 && v[0] === 2 && v[1] === 2);
  return (args: KernelArgs) => {
    const { inputs, backend, attrs } = args;
    const { dy, input, output } = inputs as { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
    const { filterSize, strides, pad: padding } = attrs as unknown as tf.MaxPoolGradAttrs;
    if (!two(filterSize) || !two(strides) || !(padding === 'valid' || padding === 0) || input.dtype !== 'float32') return original(args);
    const [N, H, W, C] = input.shape;
    const [, h, w] = dy.shape;
    const s = new KernelScope(backend as KernelBackend);
    const exact = H === 2 * h && W === 2 * w;
    const x = exact ? input : s.run(slice, { x: input }, { begin: [0, 0, 0, 0], size: [N, 2 * h, 2 * w, C] });
    // windows as broadcastable axes: x [N·h, 2, w, 2, C] against y, dy [N·h, 1, w, 1, C]
    const x5 = s.run(reshape, { x }, { shape: [N * h, 2, w, 2, C] });
    const y5 = s.run(reshape, { x: output }, { shape: [N * h, 1, w, 1, C] });
    const dy5 = s.run(reshape, { x: dy }, { shape: [N * h, 1, w, 1, C] });
    // 1 where x is below its window's maximum
    const below = s.run(step, { x: s.run(sub, { a: y5, b: x5 }, {}) }, { alpha: 0 });
    // the window positions' ranks in reading order where x is a maximum, else 0
    const rank5 = { dataId: (backend as KernelBackend).write(new Float32Array([8, 4, 2, 1]), [1, 2, 1, 2, 1], 'float32'), shape: [1, 2, 1, 2, 1], dtype: 'float32' as const };
    s.track(rank5);
    const key5 = s.run(sub, { a: rank5, b: s.run(mul, { a: rank5, b: below }, {}) }, {});
    const first = s.run(maxPool, { x: s.run(reshape, { x: key5 }, { shape: [N, 2 * h, 2 * w, C] }) }, { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined });
    // 1 unless x is its window's first maximum; the gradient is dy − dy·notFirst
    const notFirst = s.run(step, { x: s.run(sub, { a: s.run(reshape, { x: first }, { shape: [N * h, 1, w, 1, C] }), b: key5 }, {}) }, { alpha: 0 });
    const g5 = s.run(sub, { a: dy5, b: s.run(mul, { a: dy5, b: notFirst }, {}) }, {});
    const g = s.run(reshape, { x: g5 }, { shape: [N, 2 * h, 2 * w, C] });
    if (exact) return s.keep(g);
    return s.keep(s.run(pad, { x: g }, { paddings: [[0, 0], [0, H - 2 * h], [0, W - 2 * w], [0, 0]], constantValue: 0 }));
  };
}

/**
 * Sum over every axis but the last (the bias gradient of a conv or dense layer): a product
 * with a row of ones on XNNPACK's GEMM, ~4× faster than wasm's reduction. Other sums keep
 * the original kernel.
 */
export function sumLeadingAxes(backendName: string, original: KernelFunc): KernelFunc {
  const reshape = kernelOf('Reshape', backendName);
  const fill = kernelOf('Fill', backendName);
  const matMul = kernelOf('BatchMatMul', backendName);
  return (args: KernelArgs) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    const C = x.shape[rank - 1];
    const M = tf.util.sizeFromShape(x.shape) / C;
    if (!leading || x.dtype !== 'float32' || M < 1024) return original(args);
    const s = new KernelScope(backend as KernelBackend);
    const ones = s.run(fill, {}, { shape: [1, 1, M], value: 1, dtype: 'float32' });
    const r = s.run(matMul, { a: ones, b: s.run(reshape, { x }, { shape: [1, M, C] }) }, { transposeA: false, transposeB: false });
    return s.keep(s.run(reshape, { x: r }, { shape: keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C] }));
  };
}

/** Runs a cpu-backend kernel on copies of the inputs and writes the result back (slow; for rare kernels). */
export function cpuFallback(kernelName: string): KernelFunc {
  const cpuKernel = kernelOf(kernelName, 'cpu');
  return ({ inputs, backend, attrs }: KernelArgs) => {
    const cpu = tf.findBackend('cpu');
    if (!cpu) throw new Error(`${kernelName}: the cpu backend is not available for the fallback`);
    const moved: Record<string, TensorInfo> = {};
    for (const [name, t] of Object.entries(inputs)) {
      if (!t) continue;
      moved[name] = { dataId: cpu.write((backend as KernelBackend).readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    }
    const r = cpuKernel({ inputs: moved, backend: cpu, attrs }) as TensorInfo;
    const values = cpu.readSync(r.dataId);
    for (const t of Object.values(moved)) cpu.disposeData(t.dataId);
    cpu.disposeData(r.dataId);
    return { dataId: (backend as KernelBackend).write(values, r.shape, r.dtype), shape: r.shape, dtype: r.dtype };
  };
}

/** Replaces (or adds) a kernel, keeping the original setupFunc: wasm kernels bind their C function there at backend init. */
function replaceKernel(kernelName: string, backendName: string, kernelFunc: KernelFunc): void {
  const old = tf.getKernel(kernelName, backendName);
  if (old) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc, setupFunc: old?.setupFunc });
}

let registered = false;

/** Registers the training kernels on the wasm backend (idempotent). Call before the backend is initialised. */
export function registerWasmTrainingKernels(backendName = 'wasm'): void {
  if (registered) return;
  registered = true;
  replaceKernel('Conv2DBackpropFilter', backendName, conv2dBackpropFilter(backendName));
  const originalInput = kernelOf('Conv2DBackpropInput', backendName);
  replaceKernel('Conv2DBackpropInput', backendName, conv2dBackpropInput(backendName, originalInput));
  const originalPool = kernelOf('MaxPoolGrad', backendName);
  replaceKernel('MaxPoolGrad', backendName, maxPoolGrad(backendName, originalPool));
  const originalSum = kernelOf('Sum', backendName);
  replaceKernel('Sum', backendName, sumLeadingAxes(backendName, originalSum));
  if (!tf.getKernel('UnsortedSegmentSum', backendName)) replaceKernel('UnsortedSegmentSum', backendName, cpuFallback('UnsortedSegmentSum'));
}
