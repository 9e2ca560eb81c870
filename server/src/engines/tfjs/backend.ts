/**
 * Chooses the TensorFlow.js backend a run trains on (`train.backend`).
 *
 * `auto` tries, fastest first:
 *   1. `tensorflow-gpu`: @tensorflow/tfjs-node-gpu (libtensorflow with CUDA), only when it
 *      finds a GPU;
 *   2. `tensorflow`: @tensorflow/tfjs-node (libtensorflow, native multi-threaded CPU);
 *   3. `wasm`: @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread in Node) with the
 *      training kernels it lacks registered by us (wasm-kernels.ts);
 *   4. `cpu`: the pure-JavaScript backend (always there; slow).
 * The native packages are optional dependencies (their install scripts download
 * libtensorflow, which fails harmlessly offline): they are `require`d at run time, never
 * bundled, and a failure to load one is a reason in the log, not an error. An explicitly
 * requested backend that cannot be used fails the run with that reason.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from './tf';
import { registerWasmTrainingKernels } from './wasm-kernels';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly Exclude<BackendChoice, 'auto'>[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NATIVE_PACKAGES = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' } as const;

export interface BackendAttempt {
  backend: Exclude<BackendChoice, 'auto'>;
  ok: boolean;
  /** Why it was not used (or a note on the one used). */
  reason: string;
}

export interface BackendSelection {
  /** The choice that runs (`tensorflow-gpu`, `tensorflow`, `wasm`, `cpu`). */
  backend: Exclude<BackendChoice, 'auto'>;
  /** tfjs's own name of the active backend (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  /** One line: which backend runs and why each faster one was not used. */
  reason: string;
  attempts: BackendAttempt[];
}

export interface BackendOptions {
  /** Loads an optional native package (tests replace it); default: `require`. */
  requireModule?: (name: string) => unknown;
  /** Folder holding tfjs-backend-wasm's .wasm binaries; default: next to the bundle, else the package's dist/. */
  wasmDir?: string;
}

export class BackendError extends Error {}

/** Where the wasm binaries are: copied next to dist/engine-tfjs.js by the build, or in node_modules when run from source. */
export function defaultWasmDir(): string {
  const beside = __dirname;
  if (fs.existsSync(path.join(beside, 'tfjs-backend-wasm-simd.wasm'))) return beside;
  // createRequire: resolved at run time, not by the bundler
  return path.join(path.dirname(createRequire(__filename).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 300);
}

function isNotInstalled(e: unknown, pkg: string): boolean {
  const err = e as NodeJS.ErrnoException;
  return err?.code === 'MODULE_NOT_FOUND' && typeof err.message === 'string' && err.message.includes(`'${pkg}'`);
}

/** tfjs-node's error when the package is there but its install script never fetched libtensorflow / built the addon. */
function isMissingBinding(e: unknown): boolean {
  return /tfjs_binding\.node\) can not be found/.test(firstLine(e));
}

async function tryNative(choice: 'tensorflow-gpu' | 'tensorflow', load: (name: string) => unknown): Promise<BackendAttempt> {
  const pkg = NATIVE_PACKAGES[choice];
  try {
    load(pkg);
  } catch (e) {
    return { backend: choice, ok: false, reason: isNotInstalled(e, pkg) ? `${pkg}: not installed` : isMissingBinding(e) ? `${pkg}: installed without its native library (libtensorflow is downloaded by its install script, which had no internet access or was not allowed to run: \`npm rebuild ${pkg}\` with internet access)` : `${pkg}: failed to load (${firstLine(e)})` };
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { backend: choice, ok: false, reason: `${pkg}: the tensorflow backend did not initialise` };
    await tf.ready();
  } catch (e) {
    return { backend: choice, ok: false, reason: `${pkg}: the tensorflow backend did not initialise (${firstLine(e)})` };
  }
  if (choice === 'tensorflow-gpu') {
    const gpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
    if (gpu === false) return { backend: choice, ok: false, reason: `${pkg}: loaded, but TensorFlow found no CUDA GPU` };
  }
  return { backend: choice, ok: true, reason: `${pkg} loaded` };
}

async function tryWasm(wasmDir: string): Promise<BackendAttempt> {
  const binary = path.join(wasmDir, 'tfjs-backend-wasm-simd.wasm');
  if (!fs.existsSync(binary)) return { backend: 'wasm', ok: false, reason: `wasm: ${binary} is missing (run \`npm run build\`)` };
  try {
    registerWasmTrainingKernels();
    setWasmPaths(wasmDir.endsWith(path.sep) ? wasmDir : wasmDir + path.sep);
    if (!(await tf.setBackend('wasm'))) return { backend: 'wasm', ok: false, reason: 'wasm: the backend did not initialise' };
    await tf.ready();
  } catch (e) {
    return { backend: 'wasm', ok: false, reason: `wasm: the backend did not initialise (${firstLine(e)})` };
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { backend: 'wasm', ok: true, reason: `wasm (XNNPACK, ${simd ? 'SIMD' : 'no SIMD'}, 1 thread)` };
}

async function tryCpu(): Promise<BackendAttempt> {
  await tf.setBackend('cpu');
  await tf.ready();
  return { backend: 'cpu', ok: true, reason: 'cpu (pure JavaScript)' };
}

/** Activates the requested backend (or the fastest that works for `auto`). Throws BackendError when an explicit choice is unusable. */
export async function selectBackend(requested: BackendChoice, options: BackendOptions = {}): Promise<BackendSelection> {
  // createRequire: a run-time require the bundler leaves alone (the native packages are optional)
  const load = options.requireModule ?? createRequire(__filename);
  const candidates = requested === 'auto' ? BACKEND_ORDER : [requested];
  const attempts: BackendAttempt[] = [];
  for (const choice of candidates) {
    let attempt: BackendAttempt;
    switch (choice) {
      case 'tensorflow-gpu':
      case 'tensorflow':
        attempt = await tryNative(choice, load);
        break;
      case 'wasm':
        attempt = await tryWasm(options.wasmDir ?? defaultWasmDir());
        break;
      case 'cpu':
        attempt = await tryCpu();
        break;
      default:
        throw new BackendError(`unknown backend '${String(choice)}' (expected auto, tensorflow-gpu, tensorflow, wasm or cpu)`);
    }
    attempts.push(attempt);
    if (attempt.ok) {
      const skipped = attempts.filter((a) => !a.ok).map((a) => a.reason);
      const why = requested === 'auto' ? (skipped.length ? `; not used: ${skipped.join('; ')}` : '') : ' (requested by train.backend)';
      return { backend: choice, tfBackend: tf.getBackend(), reason: `${attempt.reason}${why}`, attempts };
    }
  }
  throw new BackendError(`train.backend = ${requested} cannot be used: ${attempts.map((a) => a.reason).join('; ')}`);
}
