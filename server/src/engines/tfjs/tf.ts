/**
 * The one place the tfjs engine loads TensorFlow.js from, so every module shares one
 * set of kernels and gradients.
 *
 * `@tensorflow/tfjs-core` alone registers no gradients (the `@tensorflow/tfjs` union
 * package does, but drags in layers, converter, data and WebGL); importing
 * `register_all_gradients` gives `tf.grad` / `tf.variableGrads` everything they need.
 * The pure-JavaScript cpu backend is always registered: it is the last resort, the
 * reference the wasm kernels are tested against, and the home of `cpuFallback` kernels.
 * The wasm backend registers itself on import; it is initialised (and its binary loaded)
 * only when selected (backend.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
