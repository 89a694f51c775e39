/**
 * A tfjs LayersModel (Sequential or functional) as a float32 TFLite graph:
 * one pass over the layer applications in execution order, weights moved to
 * TFLite's layouts, BatchNormalization folded into the convolution or dense
 * layer before it, relu/relu6 fused into their producer.
 *
 * Layouts: Dense kernels [in, out] become FULLY_CONNECTED weights
 * [out, in]; Conv2D kernels HWIO become OHWI; DepthwiseConv2D kernels
 * [h, w, in, multiplier] become [1, h, w, in * multiplier] (the same memory
 * order: output channel = in * multiplier + m). Activations are NHWC with
 * batch 1, as in tfjs, so Flatten is a RESHAPE that keeps the order.
 *
 * Anything else is a TfliteExportError naming the layer, raised before any
 * byte is written.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { FusedActivation, GraphOp, GraphTensor, PaddingKind, TfliteGraph } from './graph.js';
import { SUPPORTED_ACTIVATIONS, SUPPORTED_LAYERS, TfliteExportError } from './tflite-error.js';

type Layer = LayersModel['layers'][number];
type Config = Record<string, unknown>;

interface Step {
  layer: Layer;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
}

/** Layers that pass their input through at inference. */
const IDENTITY = new Set(['Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** Layer applications in execution order (a functional model's layers may be listed out of order). */
function executionOrder(model: LayersModel): Step[] {
  const known = new Set(model.inputs.map((t) => t.id));
  const pending: Step[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) pending.push({ layer, inputs: node.inputTensors, outputs: node.outputTensors });
  }
  const steps: Step[] = [];
  for (let progress = true; progress; ) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const s = pending[i]!;
      if (s.inputs.every((t) => known.has(t.id))) {
        steps.push(s);
        s.outputs.forEach((t) => known.add(t.id));
        pending.splice(i--, 1);
        progress = true;
      }
    }
  }
  return steps;
}

function unsupported(layer: Layer, what: string): TfliteExportError {
  return new TfliteExportError(layer.name, layer.getClassName(), `layer ${layer.name} (${layer.getClassName()}): ${what}`, [
    `supported layers: ${SUPPORTED_LAYERS.join(', ')}; activations: ${SUPPORTED_ACTIVATIONS.join(', ')}`,
  ]);
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/**
 * Builds the float32 graph of `model`.
 * @throws TfliteExportError for a layer, option or activation the exporter does not support.
 */
export function graphFromLayers(model: LayersModel): TfliteGraph {
  const tensors: GraphTensor[] = [];
  const ops: GraphOp[] = [];
  const ids = new Map<number, number>();
  const producer = new Map<number, GraphOp>();
  const consumers = new Map<number, number>();
  const steps = executionOrder(model);
  for (const s of steps) for (const t of s.inputs) consumers.set(t.id, (consumers.get(t.id) ?? 0) + 1);
  const isOutput = (t: SymbolicTensor): boolean => model.outputs.some((o) => o.id === t.id);

  const add = (t: GraphTensor): number => tensors.push(t) - 1;
  const activation = (t: SymbolicTensor, name: string): number => add({ name, shape: [1, ...t.shape.slice(1).map((d) => Number(d))], dtype: 'float32' });
  const constant = (name: string, shape: number[], data: Float32Array | Int32Array): number =>
    add({ name, shape, dtype: data instanceof Int32Array ? 'int32' : 'float32', data });
  const emit = (op: GraphOp): void => {
    ops.push(op);
    for (const o of op.outputs) producer.set(o, op);
  };

  const inputs = model.inputs.map((t, i) => {
    const idx = activation(t, t.sourceLayer?.name ?? `input_${i}`);
    ids.set(t.id, idx);
    return idx;
  });

  /** Fuses relu/relu6 into the op producing `src` when nothing else reads it; false when it cannot. */
  const fuse = (src: SymbolicTensor, act: FusedActivation): boolean => {
    const op = producer.get(ids.get(src.id)!);
    if (!op || (consumers.get(src.id) ?? 0) !== 1 || isOutput(src)) return false;
    const o = op.options;
    if ((o.kind === 'conv' || o.kind === 'depthwise' || o.kind === 'fc' || o.kind === 'add') && o.activation === 'none') {
      o.activation = act;
      return true;
    }
    return false;
  };

  for (const step of steps) {
    const { layer } = step;
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Config;
    const name = layer.name;
    const inIds = step.inputs.map((t) => {
      const id = ids.get(t.id);
      if (id === undefined) throw unsupported(layer, 'its input is not computed by the model');
      return id;
    });
    const out = step.outputs[0]!;
    if (step.outputs.length !== 1) throw unsupported(layer, `has ${step.outputs.length} outputs; only single-output layers are supported`);
    const alias = (id: number): void => {
      ids.set(out.id, id);
    };
    const newOut = (suffix = ''): number => activation(out, `${name}${suffix}`);

    if (IDENTITY.has(cls)) {
      alias(inIds[0]!);
      continue;
    }
    const weights = layer.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() as Float32Array }));

    /** The layer's activation option: fused, or a SOFTMAX op after it. */
    const actOf = (): { fused: FusedActivation; softmax: boolean } => {
      const a = String(cfg.activation ?? 'linear');
      if (a === 'linear') return { fused: 'none', softmax: false };
      if (a === 'relu' || a === 'relu6') return { fused: a, softmax: false };
      if (a === 'softmax') return { fused: 'none', softmax: true };
      throw unsupported(layer, `activation '${a}' is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
    };
    const finish = (op: GraphOp, softmax: boolean): void => {
      emit(op);
      if (!softmax) return alias(op.outputs[0]!);
      const y = newOut('/softmax');
      emit({ op: 'SOFTMAX', inputs: [op.outputs[0]!], outputs: [y], options: { kind: 'softmax', beta: 1 }, layer: name });
      tensors[op.outputs[0]!]!.name = `${name}/logits`;
      alias(y);
    };
    const channelsLast = (): void => {
      if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat '${String(cfg.dataFormat)}' is not supported (channelsLast only)`);
    };
    const noDilation = (): void => {
      const d = pair(cfg.dilationRate, 1);
      if (d[0] !== 1 || d[1] !== 1) throw unsupported(layer, `dilationRate [${d.join(', ')}] is not supported (1 only)`);
    };
    const padding = (): PaddingKind => {
      const p = String(cfg.padding ?? 'valid');
      if (p !== 'same' && p !== 'valid') throw unsupported(layer, `padding '${p}' is not supported (same, valid)`);
      return p;
    };

    switch (cls) {
      case 'Dense': {
        const x = tensors[inIds[0]!]!;
        if (x.shape.length !== 2) throw unsupported(layer, `input of rank ${x.shape.length} (Dense on rank-2 inputs [batch, features] only; flatten first)`);
        const [kin, kout] = weights[0]!.shape as [number, number];
        const w = new Float32Array(kin * kout);
        for (let i = 0; i < kin; i++) for (let o = 0; o < kout; o++) w[o * kin + i] = weights[0]!.data[i * kout + o]!;
        const b = cfg.useBias === false ? new Float32Array(kout) : Float32Array.from(weights[1]!.data);
        const act = actOf();
        const op: GraphOp = {
          op: 'FULLY_CONNECTED',
          inputs: [inIds[0]!, constant(`${name}/kernel`, [kout, kin], w), constant(`${name}/bias`, [kout], b)],
          outputs: [newOut()],
          options: { kind: 'fc', activation: act.fused },
          layer: name,
        };
        finish(op, act.softmax);
        break;
      }
      case 'Conv2D': {
        channelsLast();
        noDilation();
        const [kh, kw, cin, cout] = weights[0]!.shape as [number, number, number, number];
        const src = weights[0]!.data;
        const w = new Float32Array(src.length);
        for (let h = 0; h < kh; h++)
          for (let x = 0; x < kw; x++)
            for (let i = 0; i < cin; i++)
              for (let o = 0; o < cout; o++) w[((o * kh + h) * kw + x) * cin + i] = src[((h * kw + x) * cin + i) * cout + o]!;
        const b = cfg.useBias === false ? new Float32Array(cout) : Float32Array.from(weights[1]!.data);
        const strides = pair(cfg.strides, 1);
        const act = actOf();
        finish(
          {
            op: 'CONV_2D',
            inputs: [inIds[0]!, constant(`${name}/kernel`, [cout, kh, kw, cin], w), constant(`${name}/bias`, [cout], b)],
            outputs: [newOut()],
            options: { kind: 'conv', padding: padding(), strides, activation: act.fused },
            layer: name,
          },
          act.softmax,
        );
        break;
      }
      case 'DepthwiseConv2D': {
        channelsLast();
        noDilation();
        const [kh, kw, cin, mult] = weights[0]!.shape as [number, number, number, number];
        const cout = cin * mult;
        const b = cfg.useBias === false ? new Float32Array(cout) : Float32Array.from(weights[1]!.data);
        const act = actOf();
        finish(
          {
            op: 'DEPTHWISE_CONV_2D',
            inputs: [inIds[0]!, constant(`${name}/depthwise_kernel`, [1, kh, kw, cout], Float32Array.from(weights[0]!.data)), constant(`${name}/bias`, [cout], b)],
            outputs: [newOut()],
            options: { kind: 'depthwise', padding: padding(), strides: pair(cfg.strides, 1), multiplier: mult, activation: act.fused },
            layer: name,
          },
          act.softmax,
        );
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        channelsLast();
        const size = pair(cfg.poolSize, 2);
        emit({
          op: cls === 'MaxPooling2D' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D',
          inputs: [inIds[0]!],
          outputs: [newOut()],
          options: { kind: 'pool', padding: padding(), strides: pair(cfg.strides ?? cfg.poolSize, size[0]), size },
          layer: name,
        });
        alias(ops[ops.length - 1]!.outputs[0]!);
        break;
      }
      case 'GlobalAveragePooling2D': {
        channelsLast();
        if (cfg.keepDims === true) throw unsupported(layer, 'keepDims: true is not supported');
        const y = newOut();
        emit({ op: 'MEAN', inputs: [inIds[0]!, constant(`${name}/axes`, [2], Int32Array.from([1, 2]))], outputs: [y], options: { kind: 'mean', keepDims: false }, layer: name });
        alias(y);
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const y = newOut();
        const shape = tensors[y]!.shape;
        emit({ op: 'RESHAPE', inputs: [inIds[0]!, constant(`${name}/shape`, [shape.length], Int32Array.from(shape))], outputs: [y], options: { kind: 'reshape', shape }, layer: name });
        alias(y);
        break;
      }
      case 'Activation':
      case 'ReLU':
      case 'Softmax': {
        let a = cls === 'Softmax' ? 'softmax' : cls === 'ReLU' ? (cfg.maxValue === 6 ? 'relu6' : cfg.maxValue == null ? 'relu' : 'relu-max') : String(cfg.activation);
        if (cls === 'ReLU' && a === 'relu-max') throw unsupported(layer, `maxValue ${String(cfg.maxValue)} is not supported (none or 6)`);
        if (a === 'linear') {
          alias(inIds[0]!);
        } else if (a === 'relu' || a === 'relu6') {
          if (!fuse(step.inputs[0]!, a)) throw unsupported(layer, `${a} must directly follow a Dense, Conv2D, DepthwiseConv2D or Add layer without an activation and be its only consumer (it is fused into it)`);
          alias(inIds[0]!);
        } else if (a === 'softmax') {
          const y = newOut();
          emit({ op: 'SOFTMAX', inputs: [inIds[0]!], outputs: [y], options: { kind: 'softmax', beta: 1 }, layer: name });
          alias(y);
        } else {
          a = a || '?';
          throw unsupported(layer, `activation '${a}' is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
        }
        break;
      }
      case 'BatchNormalization': {
        foldBatchNorm(layer, cfg, weights, step.inputs[0]!);
        alias(inIds[0]!);
        break;
      }
      case 'Add': {
        let acc = inIds[0]!;
        for (let k = 1; k < inIds.length; k++) {
          const y = newOut(k === inIds.length - 1 ? '' : `/${k}`);
          emit({ op: 'ADD', inputs: [acc, inIds[k]!], outputs: [y], options: { kind: 'add', activation: 'none' }, layer: name });
          acc = y;
        }
        for (const id of inIds) {
          if (tensors[id]!.shape.join() !== tensors[acc]!.shape.join()) throw unsupported(layer, 'inputs of different shapes (broadcasting) are not supported');
        }
        alias(acc);
        break;
      }
      case 'Concatenate': {
        const y = newOut();
        const rank = tensors[y]!.shape.length;
        const axis = Number(cfg.axis ?? -1);
        emit({ op: 'CONCATENATION', inputs: inIds, outputs: [y], options: { kind: 'concat', axis: axis < 0 ? rank + axis : axis }, layer: name });
        alias(y);
        break;
      }
      case 'ZeroPadding2D': {
        channelsLast();
        const p = cfg.padding as number[][] | number[] | number;
        const rows: number[][] = Array.isArray(p) && Array.isArray(p[0]) ? (p as number[][]) : [pair(Array.isArray(p) ? p[0] : p, 0), pair(Array.isArray(p) ? p[1] : p, 0)];
        const [t, b] = rows[0] ?? [0, 0];
        const [l, r] = rows[1] ?? [0, 0];
        const y = newOut();
        emit({ op: 'PAD', inputs: [inIds[0]!, constant(`${name}/paddings`, [4, 2], Int32Array.from([0, 0, t!, b!, l!, r!, 0, 0]))], outputs: [y], options: { kind: 'none' }, layer: name });
        alias(y);
        break;
      }
      default:
        throw unsupported(layer, 'is not supported by the TFLite exporter');
    }
  }

  /** Folds inference-time batch norm into the convolution / dense op before it: w' = w * s, b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps). */
  function foldBatchNorm(layer: Layer, cfg: Config, weights: { shape: number[]; data: Float32Array }[], src: SymbolicTensor): void {
    const op = producer.get(ids.get(src.id)!);
    const o = op?.options;
    const foldable = op && (o!.kind === 'conv' || o!.kind === 'depthwise' || o!.kind === 'fc') && o!.activation === 'none' && (consumers.get(src.id) ?? 0) === 1 && !isOutput(src);
    if (!foldable) {
      throw unsupported(layer, 'can only be folded into a Dense, Conv2D or DepthwiseConv2D layer that has no activation and no other consumer (put the activation after the batch norm)');
    }
    const axis = Number(cfg.axis ?? -1);
    const rank = tensors[op.outputs[0]!]!.shape.length;
    if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, `axis ${axis} is not supported (the channel axis, -1, only)`);
    const eps = Number(cfg.epsilon ?? 1e-3);
    let k = 0;
    const gamma = cfg.scale === false ? undefined : weights[k++]!.data;
    const beta = cfg.center === false ? undefined : weights[k++]!.data;
    const mean = weights[k++]!.data;
    const variance = weights[k++]!.data;
    const kernel = tensors[op.inputs[1]!]!;
    const bias = tensors[op.inputs[2]!]!;
    const w = kernel.data as Float32Array;
    const b = bias.data as Float32Array;
    const channels = b.length;
    // Output channel of a kernel element: OHWI and [out, in] lead with it; the depthwise [1, h, w, c] ends with it.
    const perOut = w.length / channels;
    for (let c = 0; c < channels; c++) {
      const s = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
      b[c] = (b[c]! - mean[c]!) * s + (beta ? beta[c]! : 0);
      if (o!.kind === 'depthwise') for (let i = c; i < w.length; i += channels) w[i] = w[i]! * s;
      else for (let i = c * perOut; i < (c + 1) * perOut; i++) w[i] = w[i]! * s;
    }
  }

  const outputs = model.outputs.map((t) => ids.get(t.id)!);
  return { tensors, ops, inputs, outputs };
}
