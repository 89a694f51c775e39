/**
 * Elementwise activations and BatchNormalization -> tfjs layers. They keep
 * their input's shape and layout (a `flat` value stays flat: the order of
 * elements does not matter to them).
 */
import type { ImportContext, SymValue } from './import-context.js';
import { nchwAxisToNhwc } from './layout.js';
import type { OnnxNode } from './read-model.js';

function out(ctx: ImportContext, node: OnnxNode, x: SymValue, sym: SymValue['sym'], mapping: string, layers: string[], nonNegative: boolean): void {
  ctx.values.set(node.outputs[0]!, { ...x, sym, nonNegative });
  ctx.record(node, mapping, layers);
}

/** Clip's bounds: attributes before opset 11, optional constant inputs from 11. */
function clipBounds(ctx: ImportContext, node: OnnxNode): [number, number] {
  if (ctx.model.opset < 11) return [ctx.float(node, 'min', -Infinity), ctx.float(node, 'max', Infinity)];
  const bound = (i: number, def: number): number => {
    if (!ctx.hasInput(node, i)) return def;
    const t = ctx.constant(node, i, i === 1 ? 'min' : 'max');
    return t.data[0]!;
  };
  return [bound(1, -Infinity), bound(2, Infinity)];
}

export function mapActivation(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.sym(node, 0);
  const L = ctx.tf.layers;
  const name = ctx.layerName(node);
  switch (node.opType) {
    case 'Relu':
      return out(ctx, node, x, ctx.apply(L.reLU({ name }), x.sym), `ReLU ${name}`, [name], true);
    case 'LeakyRelu': {
      const alpha = ctx.float(node, 'alpha', 0.01);
      return out(ctx, node, x, ctx.apply(L.leakyReLU({ alpha, name }), x.sym), `LeakyReLU ${name} (alpha ${alpha})`, [name], false);
    }
    case 'Clip': {
      const [min, max] = clipBounds(ctx, node);
      if (min !== 0) {
        throw ctx.error(node, `Clip(${min}, ${max}) cannot be expressed: tfjs layers clip at 0 and an optional maximum (ReLU, ReLU6)`, [
          'modelpress maps Clip(0, max) (e.g. nn.ReLU6) only',
        ]);
      }
      const relu = Number.isFinite(max) ? L.reLU({ maxValue: max, name }) : L.reLU({ name });
      return out(ctx, node, x, ctx.apply(relu, x.sym), `ReLU ${name} (${max === 6 ? 'ReLU6' : `max ${max}`})`, [name], true);
    }
    case 'Sigmoid':
      return out(ctx, node, x, ctx.apply(L.activation({ activation: 'sigmoid', name }), x.sym), `Activation sigmoid ${name}`, [name], true);
    case 'Tanh':
      return out(ctx, node, x, ctx.apply(L.activation({ activation: 'tanh', name }), x.sym), `Activation tanh ${name}`, [name], false);
    case 'HardSigmoid': {
      const alpha = ctx.float(node, 'alpha', 0.2);
      const beta = ctx.float(node, 'beta', 0.5);
      if (Math.abs(alpha - 0.2) < 1e-7 && Math.abs(beta - 0.5) < 1e-7) {
        return out(ctx, node, x, ctx.apply(L.activation({ activation: 'hardSigmoid', name }), x.sym), `Activation hardSigmoid ${name}`, [name], true);
      }
      const h = hardSigmoid(ctx, node, x, alpha, beta, name);
      return out(ctx, node, x, h.sym, `HardSigmoid(alpha ${alpha}, beta ${beta}) as ${h.layers.join(' + ')}`, h.layers, true);
    }
    case 'HardSwish': {
      // x * HardSigmoid(x; 1/6, 1/2), PyTorch's nn.Hardswish.
      const h = hardSigmoid(ctx, node, x, 1 / 6, 0.5, name);
      const mul = ctx.layerName(node, 'mul');
      const sym = ctx.apply(L.multiply({ name: mul }), [x.sym, h.sym]);
      return out(ctx, node, x, sym, `HardSwish as x * (${h.layers.join(' + ')}) ${mul}`, [...h.layers, mul], false);
    }
    case 'Softmax': {
      const rank = x.shape.length;
      const def = ctx.model.opset < 13 ? 1 : -1;
      let axis = ctx.int(node, 'axis', def);
      if (axis < 0) axis += rank;
      if (ctx.model.opset < 13 && axis !== rank - 1) {
        throw ctx.error(node, `Softmax before opset 13 flattens the dims from axis ${axis} on; only axis = ${rank - 1} (the last) is supported`, ['export with opset_version >= 13, or softmax over the last dim']);
      }
      if (axis === 0) throw ctx.error(node, 'Softmax over the batch axis (0) is not supported');
      const m = x.flat ? ctx.materialize(node, x) : x;
      const tfAxis = m.layout === 'nhwc' ? nchwAxisToNhwc(axis) : axis;
      if (tfAxis !== rank - 1) {
        // tfjs's softmax kernel takes the last dim only.
        throw ctx.error(node, `Softmax over ONNX axis ${axis} is axis ${tfAxis} of the NHWC tensor, and tfjs computes softmax over the last axis only`, ['softmax over channels (dim 1) of a 4-D tensor, or over the last dim of a 2-D one']);
      }
      return out(ctx, node, m, ctx.apply(L.softmax({ axis: tfAxis, name }), m.sym), `Softmax ${name} (axis ${tfAxis})`, [name], true);
    }
    default:
      throw ctx.error(node, `no activation mapper for ${node.opType}`);
  }
}

/**
 * max(0, min(1, alpha x + beta)) from stock layers: tfjs's hardSigmoid is
 * fixed at 0.2 x + 0.5, so the affine parts are frozen BatchNormalization
 * layers (mean 0, variance 1 - epsilon: exactly gamma x + beta) around a
 * ReLU capped at 6. Frozen, so fine-tuning cannot turn them into anything
 * but the op the file defines; any tfjs loads them.
 */
function hardSigmoid(ctx: ImportContext, node: OnnxNode, x: SymValue, alpha: number, beta: number, name: string): { sym: SymValue['sym']; layers: string[] } {
  const c = x.shape[1]!;
  const axis = x.layout === 'nhwc' ? 3 : x.shape.length - 1;
  if (x.layout !== 'nhwc' && x.shape.length !== 2) throw ctx.error(node, `expected a 2-D or 4-D input, got rank ${x.shape.length}`);
  const L = ctx.tf.layers;
  const affine = (suffix: string, gamma: number, shift: number, input: SymValue['sym']): SymValue['sym'] => {
    const epsilon = 1e-3;
    const layer = L.batchNormalization({ axis, epsilon, name: `${name}_${suffix}`, trainable: false });
    const sym = ctx.apply(layer, input);
    const ws = [gamma, shift, 0, 1 - epsilon].map((v) => ctx.tf.fill([c], v));
    layer.setWeights(ws);
    ctx.tf.dispose(ws);
    return sym;
  };
  const scaled = affine('scale', 6 * alpha, 6 * beta, x.sym);
  const relu6 = ctx.apply(L.reLU({ maxValue: 6, name: `${name}_relu6` }), scaled);
  const sym = affine('div6', 1 / 6, 0, relu6);
  return { sym, layers: [`${name}_scale`, `${name}_relu6`, `${name}_div6`] };
}

export function mapBatchNorm(ctx: ImportContext, node: OnnxNode): void {
  // Per-feature parameters need the features in ONNX order.
  const x = ctx.materialize(node, ctx.sym(node, 0));
  if (node.outputs.slice(1).some((o) => o !== '')) {
    throw ctx.error(node, 'BatchNormalization in training mode (running mean/var outputs) is not supported', ['export the model in eval mode: model.eval() before torch.onnx.export']);
  }
  if (x.shape.length !== 2 && x.shape.length !== 4) {
    throw ctx.error(node, `expected a 2-D or 4-D input (BatchNorm1d on [N, C] or BatchNorm2d), got rank ${x.shape.length} [${x.shape.join(', ')}]`);
  }
  const c = x.shape[1]!;
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constant(node, i, ['', 'scale', 'B', 'mean', 'var'][i]!));
  for (const t of [scale!, bias!, mean!, variance!]) {
    if (t.data.length !== c) throw ctx.error(node, `expected ${c} values per parameter (one per channel), got [${t.dims.join(', ')}]`);
  }
  const epsilon = ctx.float(node, 'epsilon', 1e-5);
  const axis = x.layout === 'nhwc' ? 3 : 1;
  const name = ctx.layerName(node);
  const layer = ctx.tf.layers.batchNormalization({ axis, epsilon, name });
  const sym = ctx.apply(layer, x.sym);
  const ws = [scale!, bias!, mean!, variance!].map((t) => ctx.tf.tensor(Float32Array.from(t.data), [c]));
  layer.setWeights(ws);
  ctx.tf.dispose(ws);
  out(ctx, node, x, sym, `BatchNormalization ${name} (axis ${axis}, epsilon ${epsilon})`, [name], false);
}
