/**
 * Lets a training step skip the conv gradients nobody asked for.
 *
 * A tfjs-layers Conv2D without activation (LeNet-5's convs, MobileNet's convs
 * before batch norm) calls `tf.fused.conv2d`, which during training is a
 * `customGrad` (tfjs-core 4.22 ops/fused/conv2d.ts): its gradient function
 * computes the input gradient AND the filter gradient eagerly, whether or not
 * the tape needs them. So the first conv of every model computes the gradient
 * with respect to the images (LeNet-5 on wasm: conv1's Conv2DBackpropInput,
 * 11-13 ms of a ~90 ms batch-64 step, thrown away), and a frozen conv
 * (fine-tuning) still computes both of its gradients.
 *
 * Ops with a *registered* gradient are different: the tape prunes inputs that
 * do not lead to the variables asked for and never calls their gradient
 * (tfjs-core tape.ts `getFilteredNodesXToY`). So, while a gradient is being
 * recorded, the patched layers run the same FusedConv2D kernel through
 * `engine.runKernel` with a gradient registered here for it (tfjs registers
 * none: the fused op always goes through customGrad). Forward values are
 * bit-identical (same kernel, same attributes) and so are the gradients that
 * are computed (the same kernels and ops, in the same order, as the fused
 * op's own gradient function).
 *
 * Outside a gradient recording (inference, evaluation) the layer's own call
 * runs untouched.
 */
import type { GradConfig, LayersModel, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

const KERNEL = 'FusedConv2D';

/** The private fields of a tfjs-layers Conv2D the patched call reads. */
interface Conv2DInternals {
  kernel: { read(): Tensor } | null;
  bias: { read(): Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
  activation: { getClassName(): string } | null;
  call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[];
}

/** Layers already patched (patching twice would wrap the wrapper). */
const patched = new WeakSet<object>();
/** The gradient config registered by us, to tell it from someone else's. */
let ourGradient: GradConfig | undefined;

/**
 * Registers the FusedConv2D gradient (once per tfjs instance) and patches
 * every linear, channels-last, 'same'/'valid' Conv2D layer of `model` to use it while a
 * gradient is recorded. Returns the names of the layers patched now (empty
 * when there is nothing to patch, or when another FusedConv2D gradient is
 * already registered: then this leaves everything as it was).
 */
export function useLazyConvGradients(tf: Tf, model: LayersModel): string[] {
  if (!registerFusedConv2DGradient(tf)) return [];
  const names: string[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Conv2D' || patched.has(layer)) continue;
    const conv = layer as unknown as Conv2DInternals;
    // Other activations already train unfused (fused.conv2d fuses only 'linear' under a tape), with lazy gradients.
    const linear = conv.activation === null || conv.activation.getClassName() === 'linear';
    if (!linear || conv.dataFormat !== 'channelsLast' || (conv.padding !== 'same' && conv.padding !== 'valid')) continue;
    const own = conv.call.bind(layer);
    conv.call = (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (tf.engine().state.gradientDepth === 0 || x === undefined || x.rank !== 4 || conv.kernel === null) {
        return own(inputs, kwargs);
      }
      const kernel = conv.kernel;
      return tf.tidy(() => {
        const tensors: Record<string, Tensor> = { x, filter: kernel.read() };
        // An absent input must be left out, not undefined: the tape walks every entry.
        if (conv.bias !== null) tensors.bias = conv.bias.read();
        const dilations = typeof conv.dilationRate === 'number' ? [conv.dilationRate, conv.dilationRate] : conv.dilationRate;
        const attrs: NamedAttrMap = {
          strides: conv.strides,
          pad: conv.padding,
          dataFormat: 'NHWC',
          dilations,
          activation: 'linear',
        };
        return tf.engine().runKernel(KERNEL, tensors, attrs) as Tensor;
      });
    };
    patched.add(layer);
    names.push(layer.name);
  }
  return names;
}

/**
 * Registers the gradient of a linear FusedConv2D unless one is registered.
 * Returns whether ours is the one in place.
 */
function registerFusedConv2DGradient(tf: Tf): boolean {
  const existing = tf.getGradient(KERNEL);
  if (existing !== undefined) return existing === ourGradient;
  const config: GradConfig = {
    kernelName: KERNEL,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [Tensor, Tensor];
      const { strides, pad, dilations, activation } = attrs as unknown as {
        strides: [number, number];
        pad: 'same' | 'valid';
        dilations: [number, number];
        activation: string;
      };
      const g = dy as Tensor;
      // Only the patched call above records this kernel, always linear and
      // undilated-or-rejected; these checks keep a stray caller from getting
      // silently wrong gradients.
      if (activation !== 'linear') throw new Error(`${KERNEL} gradient: only activation 'linear' is supported here, got '${activation}'`);
      if (dilations.some((d) => d !== 1)) {
        throw new Error(`Error in gradient of fused conv2D: dilation rates greater than 1 are not yet supported in gradients. Got dilations '${dilations.join(',')}'`);
      }
      // The same kernels and attributes as tfjs-core's fused conv2d gradient
      // (conv2DBackpropInput / conv2DBackpropFilter / getFusedBiasGradient).
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, {
          strides, pad, dataFormat: 'NHWC', inputShape: x.shape,
        }) as Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, {
          strides, pad, dataFormat: 'NHWC', filterShape: filter.shape,
        }) as Tensor,
        bias: () => tf.reshape(tf.sum(g, [0, 1, 2]), [g.shape[3]!]),
      };
    },
  };
  tf.registerGradient(config);
  ourGradient = tf.getGradient(KERNEL);
  return true;
}
