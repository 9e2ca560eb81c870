/**
 * Optimizers and learning-rate schedules, written out (rather than tf.train's) so their
 * state is explicit — it goes into checkpoints for an exact resume — and their update rules
 * are exactly PyTorch's, which the torch engine uses:
 *
 * - SGD (torch.optim.SGD, dampening 0, no Nesterov): g ← ∇ + wd·θ; b ← μ·b + g (b = g at
 *   the first step); θ ← θ − lr·b.
 * - Adam (torch.optim.Adam, L2 weight decay added to the gradient, not AdamW):
 *   g ← ∇ + wd·θ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − lr·m̂ / (√v̂ + ε) with
 *   m̂ = m / (1−β₁ᵗ), v̂ = v / (1−β₂ᵗ), ε = 1e-8.
 *
 * Schedules give the learning rate of a step from the epoch (0-based) it is in:
 * constant; step: lr·γ^⌊epoch / every⌋ (torch StepLR stepped per epoch); cosine: annealed
 * per step from lr to 0 over the run, lr·½(1 + cos(π·t / T)) for the t-th step (0-based)
 * of T (torch LambdaLR stepped per batch).
 */
import type { EngineConfig } from './config';
import type { Param } from './models';
import { tf } from './tf';

export const ADAM_EPSILON = 1e-8;

export interface OptimizerState {
  /** Updates applied so far (Adam's t). */
  t: number;
  /** Slot tensors by name `<param>/<slot>` (`m`, `v`, `momentum`), for checkpoints. */
  slots: { name: string; variable: tf.Variable }[];
}

export interface Optimizer {
  readonly state: OptimizerState;
  /** Applies one update with these gradients (by variable name) at learning rate lr. */
  apply(grads: tf.NamedTensorMap, lr: number): void;
  dispose(): void;
}

type OptConfig = EngineConfig['train']['optimizer'];

export function createOptimizer(config: OptConfig, params: Param[]): Optimizer {
  const slotNames = config.type === 'sgd' ? ['momentum'] : ['m', 'v'];
  const state: OptimizerState = {
    t: 0,
    slots: params.flatMap((p) => slotNames.map((s) => ({ name: `${p.name}/${s}`, variable: tf.variable(tf.zerosLike(p.variable), false) }))),
  };
  const slotsOf = (i: number) => state.slots.slice(i * slotNames.length, (i + 1) * slotNames.length).map((s) => s.variable);

  const apply = (grads: tf.NamedTensorMap, lr: number) => {
    state.t++;
    const t = state.t;
    tf.tidy(() => {
      params.forEach((p, i) => {
        const grad = grads[p.variable.name];
        if (!grad) return; // a parameter the loss does not reach
        const theta = p.variable;
        const g = config.weightDecay ? tf.add(grad, tf.mul(config.weightDecay, theta)) : grad;
        if (config.type === 'sgd') {
          const [buf] = slotsOf(i);
          const b = t === 1 ? g : tf.add(tf.mul(config.momentum, buf), g);
          if (config.momentum) buf.assign(b);
          theta.assign(tf.sub(theta, tf.mul(lr, config.momentum ? b : g)));
        } else {
          const [m, v] = slotsOf(i);
          const { beta1, beta2 } = config;
          const m1 = tf.add(tf.mul(beta1, m), tf.mul(1 - beta1, g));
          const v1 = tf.add(tf.mul(beta2, v), tf.mul(1 - beta2, tf.square(g)));
          m.assign(m1);
          v.assign(v1);
          const mHat = tf.div(m1, 1 - beta1 ** t);
          const vHat = tf.div(v1, 1 - beta2 ** t);
          theta.assign(tf.sub(theta, tf.mul(lr, tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM_EPSILON)))));
        }
      });
    });
  };
  return { state, apply, dispose: () => state.slots.forEach((s) => s.variable.dispose()) };
}

/** Learning rate of the step with 0-based index `stepIndex` in 0-based `epoch`. */
export function learningRate(config: EngineConfig['train'], epoch: number, stepIndex: number, totalSteps: number): number {
  const lr = config.optimizer.lr;
  switch (config.schedule.type) {
    case 'constant':
      return lr;
    case 'step':
      return lr * config.schedule.gamma ** Math.floor(epoch / config.schedule.every);
    case 'cosine':
      return lr * 0.5 * (1 + Math.cos((Math.PI * stepIndex) / totalSteps));
  }
}
