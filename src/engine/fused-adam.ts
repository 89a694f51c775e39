/**
 * Adam whose step is one kernel per variable (src/engine/kernels/
 * adam-update.ts) where the backend has that kernel (wasm, once
 * registerWasmTrainingKernels has run), and tfjs's own composed step
 * everywhere else.
 *
 * It is a tfjs AdamOptimizer, not a look-alike: the moments live in the
 * same places under the same names (`<variable>/m`, `<variable>/v`,
 * matched to gradients by position, as tfjs does), beta1^t and beta2^t stay
 * in its float32 variables, and getWeights / setWeights / getConfig /
 * dispose / the learningRate field are inherited. So the state of a fused
 * step and of a stock one are interchangeable, and the serialized class is
 * plain 'Adam'. Only applyGradients is replaced; its results are the same
 * bits as the stock step's (see the kernel's comment for why).
 */
import type { AdamOptimizer, Tensor, Variable } from '@tensorflow/tfjs';
import { ADAM_UPDATE } from './kernels/adam-update.js';
import type { AdamUpdateAttrs } from './kernels/adam-update.js';
import type { Tf } from './tf.js';

/** The private state of tfjs-core 4.22's AdamOptimizer that the fused step reads and writes. */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: Variable } | undefined)[];
  incrementIterations(): void;
}

type AdamConstructor = new (learningRate: number, beta1: number, beta2: number, epsilon?: number) => AdamOptimizer;

/** What Optimizer.applyGradients takes: a map of gradients by variable name, or a list of named gradients. */
type VariableGradients = Parameters<AdamOptimizer['applyGradients']>[0];

/** One subclass per tfjs module (tests load more than one), built on first use so this module loads without tfjs. */
const classes = new WeakMap<Tf, AdamConstructor>();

function fusedAdamClass(tf: Tf): AdamConstructor {
  const known = classes.get(tf);
  if (known) return known;
  class FusedAdamOptimizer extends tf.AdamOptimizer {
    override applyGradients(variableGradients: VariableGradients): void {
      if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) === undefined) {
        super.applyGradients(variableGradients);
        return;
      }
      const self = this as unknown as AdamInternals;
      const list = Array.isArray(variableGradients)
        ? variableGradients
        : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
      // beta^t is one float32 in the heap: reading it is a 4-byte copy on wasm, not a sync with a device.
      const acc1 = self.accBeta1.dataSync()[0]!;
      const acc2 = self.accBeta2.dataSync()[0]!;
      const attrs: AdamUpdateAttrs = {
        learningRate: self.learningRate,
        beta1: self.beta1,
        beta2: self.beta2,
        epsilon: self.epsilon,
        // tfjs's sub(1, accBeta): a float32 subtraction.
        oneMinusAccBeta1: Math.fround(1 - acc1),
        oneMinusAccBeta2: Math.fround(1 - acc2),
      };
      tf.tidy(() => {
        list.forEach(({ name, tensor: gradient }, i) => {
          const value = tf.engine().registeredVariables[name];
          if (value === undefined) throw new Error(`Adam: no variable named '${name}' to apply a gradient to`);
          const m = (self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) });
          const v = (self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) });
          // Like tfjs: a missing gradient leaves the variable and its moments alone.
          if (gradient == null) return;
          const [x2, m2, v2] = tf.engine().runKernel(
            ADAM_UPDATE,
            { x: value, m: m.variable, v: v.variable, g: gradient as Tensor },
            attrs as unknown as Record<string, number>,
          ) as Tensor[];
          m.variable.assign(m2!);
          v.variable.assign(v2!);
          value.assign(x2!);
        });
        // tfjs's mul(accBeta, beta): float32 times the float32 scalar beta.
        self.accBeta1.assign(tf.scalar(Math.fround(acc1 * Math.fround(self.beta1))));
        self.accBeta2.assign(tf.scalar(Math.fround(acc2 * Math.fround(self.beta2))));
      });
      self.incrementIterations();
    }
  }
  classes.set(tf, FusedAdamOptimizer);
  return FusedAdamOptimizer;
}

/**
 * `tf.train.adam(learningRate, beta1, beta2, epsilon)` with the fused step.
 * Defaults are tfjs's: beta1 0.9, beta2 0.999, epsilon the backend's
 * (1e-7 on cpu and wasm).
 */
export function fusedAdam(tf: Tf, learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): AdamOptimizer {
  const Fused = fusedAdamClass(tf);
  return new Fused(learningRate, beta1, beta2, epsilon);
}
