/**
 * A replacement for tfjs-core 4.22's gradient of Tile (a gradient, not a
 * kernel: tfjs keeps one gradient per op for all backends).
 *
 * The stock gradient adds one Slice of dy per repetition: prod(reps) Slice +
 * Add kernel calls (tfjs-core gradients/Tile_grad.ts). LayerNormalization
 * (tfjs-layers) tiles gamma and beta ([d]) to the whole [batch, time, d]
 * activation, so its gradient costs 2 * batch * time pairs: a profiled
 * transformer training step (builders.ts defaults, batch 128, 28 steps, two
 * blocks) on wasm took 154 s, 56 s of kernel time in 29,184 Slice calls and
 * the rest mostly in their Adds and per-call overhead.
 *
 * The same sum in two ops: the tiled axis i of dy, of length reps[i] *
 * x.shape[i], is row-major [reps[i], x.shape[i]], so reshaping dy to
 * [r0, s0, r1, s1, ...] and summing the r axes gives dx. Same values up to
 * float summation order; any rank (the stock one stops at rank 4).
 */
import type { GradConfig, NamedAttrMap, Tensor, TileAttrs } from '@tensorflow/tfjs';
import type { Tf } from './wasm-kernel-utils.js';

export function tileGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved as [Tensor];
      const { reps } = attrs as unknown as TileAttrs;
      return {
        x: () => {
          const split: number[] = [];
          const repAxes: number[] = [];
          x.shape.forEach((size, i) => {
            repAxes.push(split.length);
            split.push(reps[i]!, size);
          });
          return tf.sum(tf.reshape(dy as Tensor, split), repAxes);
        },
      };
    },
  };
}
