/**
 * Max and min over axes (kept) whose gradient is split evenly between tied elements, as
 * torch's `amax` / `amin` do. tfjs's `max` / `min` give the full gradient to every tied
 * element instead, so at ties the engines would train differently. Ties are common here:
 * bilinear upsampling (align_corners = False) repeats the border values of a map, and
 * GradCAM's ReLU makes many zeros. First-order only (the guidance losses apply them to an
 * attribution, never inside a gradient that is differentiated again).
 */
import { tf } from './tf';

function tiedReduce(kind: 'max' | 'min', x: tf.Tensor, axes: number[]): tf.Tensor {
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = kind === 'max' ? tf.max(input, axes, true) : tf.min(input, axes, true);
    save([input, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [inp, val] = saved;
        const mask = tf.cast(tf.equal(inp, val), 'float32');
        return tf.div(tf.mul(dy, mask), tf.sum(mask, axes, true));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor;
}

/** max over `axes`, kept as size-1 axes; ties share the gradient. */
export function maxKeep<T extends tf.Tensor>(x: T, axes: number[]): T {
  return tiedReduce('max', x, axes) as T;
}

/** min over `axes`, kept as size-1 axes; ties share the gradient. */
export function minKeep<T extends tf.Tensor>(x: T, axes: number[]): T {
  return tiedReduce('min', x, axes) as T;
}
