/**
 * Training throughput of the tfjs engine: images per second of one training step
 * (forward + backward + Adam update, exactly the engine's Trainer.trainStep work minus
 * data copying) of small_cnn (width 32, 10 classes, batch 64) at 28 and 64 px, with
 * cross-entropy and with CYBORG, on the wasm and cpu backends. Prints one JSON object;
 * nothing is asserted. Compare with bench/torch_cpu_reference.py (same net and losses).
 *
 *   npx tsx bench/engine-tfjs.ts [--backends wasm,cpu] [--sizes 28,64] [--batch 64] [--seconds 8] [--profile]
 *                                [--losses ce,cyborg,energy:gradcam:mid,rrr_star:ixg:input,rrr]
 *
 * `--losses` adds the second-order guidance losses (guidance.ts: `loss:attribution:layer`,
 * λ = 1; `rrr` takes input gradients); the engine registers second-order.ts's gradients,
 * and so does this benchmark, so CE and CYBORG are measured as the engine runs them.
 *
 * The default measures wasm only: the pure-JavaScript cpu backend needs minutes per step of
 * 64 images (about 0.5–0.7 images/s at 28 px); measure it with e.g. `--backends cpu
 * --sizes 28 --batch 8`.
 *
 * `<size>px_<loss>` is images per wall-clock second; `…_cpu` per second of the process's CPU
 * time, which other load on a shared machine disturbs far less (both backends use one thread).
 * Each configuration runs 2 warm-up steps, then steps until `--seconds` have passed (at
 * least 3; the cpu backend at 64 px takes minutes per step, so it gets at least 1).
 * `--profile` prints the most expensive kernels of one wasm step at 28 px to stderr.
 */
import * as os from 'node:os';
import { selectBackend } from '../server/src/engines/tfjs/backend';
import type { AttributionKind, GuidedLayer } from '../server/src/engines/tfjs/attribution';
import { guidedLoss, type GuidanceLoss } from '../server/src/engines/tfjs/guidance';
import { crossEntropyLoss, cyborgLoss } from '../server/src/engines/tfjs/losses';
import { createModel } from '../server/src/engines/tfjs/models';
import { createOptimizer } from '../server/src/engines/tfjs/optimizer';
import { withExactPooling } from '../server/src/engines/tfjs/second-order';
import { tf } from '../server/src/engines/tfjs/tf';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const backends = arg('backends', 'wasm').split(',') as ('wasm' | 'cpu')[];
const sizes = arg('sizes', '28,64').split(',').map(Number);
const seconds = Number(arg('seconds', '8'));
const BATCH = Number(arg('batch', '64'));
const CLASSES = 10;
const losses = arg('losses', 'ce,cyborg').split(',');

function setup(size: number, loss: string) {
  const model = createModel({ arch: 'small_cnn', width: 32, hidden: [], imageSize: size, channels: 1, classes: CLASSES, seed: 1 });
  const optimizer = createOptimizer({ type: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, weightDecay: 0 }, model.params);
  const h = model.featureSize!;
  const x = tf.randomUniform([BATCH, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % CLASSES), 'int32');
  const saliency = tf.randomUniform([BATCH, h, h], 0, 1, 'float32', 2) as tf.Tensor3D;
  const guided = tf.ones([BATCH]) as tf.Tensor1D;
  const vars = model.params.map((p) => p.variable);
  const human = Float32Array.from({ length: BATCH * size * size }, (_, i) => ((i * 7919) % 13 > 6 ? 1 : 0));
  const [kind, attribution = 'cam', layer = 'final'] = loss.split(':');
  // guided losses take the whole step's gradients with exact max-pool routing, as step.ts does
  const gradients = loss !== 'ce' && loss !== 'cyborg' ? withExactPooling : <T>(f: () => T) => f();
  const step = () => {
    const { value, grads } = gradients(() => tf.variableGrads(() => {
      if (loss !== 'ce' && loss !== 'cyborg') {
        const c = { loss: kind as Exclude<GuidanceLoss, 'none'>, attribution: attribution as AttributionKind, layer: layer as GuidedLayer, lambda: 1, alpha: 0.5, camClass: 'label' as const };
        return guidedLoss(model, c, x, labels, human, guided).loss;
      }
      const out = model.forward(x);
      return loss === 'ce'
        ? crossEntropyLoss(out.logits, labels).loss
        : cyborgLoss({ logits: out.logits, features: out.features!, headWeight: model.headWeight as tf.Tensor2D, labels, saliency, guided, alpha: 0.5, camClass: 'label' }).loss;
    }, vars));
    optimizer.apply(grads, 1e-3);
    const v = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return v;
  };
  const dispose = () => {
    model.dispose();
    optimizer.dispose();
    tf.dispose([x, labels, saliency, guided]);
  };
  return { step, dispose };
}

async function profileWasmStep(): Promise<void> {
  await selectBackend('wasm');
  const { step, dispose } = setup(28, 'cyborg');
  step();
  const p = await tf.profile(() => {
    step();
  });
  const by = new Map<string, number>();
  for (const k of p.kernels) {
    const ms = await k.kernelTimeMs;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    by.set(key, (by.get(key) ?? 0) + (typeof ms === 'number' ? ms : 0));
  }
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  process.stderr.write(`wasm, 28 px, CYBORG: ${total.toFixed(1)} ms in kernels per step\n`);
  for (const [k, ms] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stderr.write(`${ms.toFixed(1).padStart(8)} ms  ${k}\n`);
  dispose();
}

async function main(): Promise<void> {
  tf.enableProdMode();
  if (args.includes('--profile')) await profileWasmStep();
  const results: Record<string, Record<string, number>> = {};
  for (const backend of backends) {
    await selectBackend(backend);
    results[backend] = {};
    for (const size of sizes) {
      for (const loss of losses) {
        const { step, dispose } = setup(size, loss);
        const warmup = backend === 'cpu' ? 1 : 2;
        for (let i = 0; i < warmup; i++) step();
        const minSteps = backend === 'cpu' ? 1 : 3;
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        let steps = 0;
        while (steps < minSteps || performance.now() - t0 < seconds * 1000) {
          step();
          steps++;
          if (backend === 'cpu' && performance.now() - t0 > seconds * 1000) break;
        }
        const elapsed = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        results[backend][`${size}px_${loss}`] = Number(((steps * BATCH) / elapsed).toFixed(1));
        // per second of this process's CPU time: robust to other load on a shared machine
        // (the engine's wasm and cpu backends use one thread)
        results[backend][`${size}px_${loss}_cpu`] = Number(((steps * BATCH) / ((cpu.user + cpu.system) / 1e6)).toFixed(1));
        process.stderr.write(`${backend} ${size} px ${loss}: ${results[backend][`${size}px_${loss}`]} images/s (${steps} steps)\n`);
        dispose();
      }
    }
  }
  const cpus = os.cpus();
  console.log(
    JSON.stringify({
      engine: 'tfjs',
      tfjs: tf.version_core,
      model: `small_cnn width 32, batch ${BATCH}, Adam; train step = forward + backward + update, one thread`,
      machine: { cpus: cpus.length, model: cpus[0]?.model, node: process.version, load: os.loadavg()[0] },
      imagesPerSecond: results,
    }),
  );
}

void main();
