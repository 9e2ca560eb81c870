/** Shared helpers of the tfjs engine tests. */
import { selectBackend } from '../../server/src/engines/tfjs/backend';
import { tf } from '../../server/src/engines/tfjs/tf';
import { createRng } from '../../server/src/data/rng';

/** Activates a backend (initialising wasm with our training kernels the first time). */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') await selectBackend('wasm');
  else {
    await tf.setBackend('cpu');
    await tf.ready();
  }
}

/** Deterministic standard-normal values (Box–Muller on the data RNG). */
export function randomNormal(count: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed, 99);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = 1 - rng.float();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
