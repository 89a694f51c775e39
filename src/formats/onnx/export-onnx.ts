/**
 * tfjs LayersModel -> ONNX (opset 13), the mirror of the importer: the
 * exported graph takes and returns NCHW tensors, as the PyTorch model it
 * may have come from did, with weights moved back (HWIO -> OIHW). `same`
 * padding becomes explicit pads computed for the model's fixed input size.
 * A Flatten of a 4-D tensor is preceded by a Transpose to NHWC, so the Dense
 * that follows keeps tfjs's row order. Layers with no ONNX mapping here are
 * refused with an OnnxError naming the layer.
 */
import type { LayersModel, SymbolicTensor, Tensor, layers as tfLayers } from '@tensorflow/tfjs';
import { samePads } from './layout.js';
import { OnnxError } from './onnx-error.js';
import type { GraphSpec, NodeSpec, TensorSpec } from './write-model.js';
import { writeOnnxModel } from './write-model.js';

export const EXPORT_OPSET = 13;

/** tfjs layer classes the exporter writes. */
export const EXPORTABLE_LAYERS = [
  'Activation', 'Add', 'AveragePooling2D', 'BatchNormalization', 'Concatenate', 'Conv2D', 'Dense', 'DepthwiseConv2D', 'Dropout',
  'Flatten', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'InputLayer', 'LeakyReLU', 'MaxPooling2D', 'Multiply', 'Permute', 'ReLU',
  'Reshape', 'Softmax', 'ZeroPadding2D',
] as const;

interface Val { name: string; /** tfjs shape without batch */ shape: number[] }

type LayerConfig = Record<string, unknown>;

function nhwcToNchwAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? [0, 2, 3, 1][a]! : a;
}

/** HWIO -> OIHW */
function hwioToOihw(k: Float32Array, [h, w, i, o]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) for (let ic = 0; ic < i!; ic++) for (let oc = 0; oc < o!; oc++) {
    out[((oc * i! + ic) * h! + y) * w! + x] = k[((y * w! + x) * i! + ic) * o! + oc]!;
  }
  return out;
}

/** Depthwise [H, W, C, m] -> [C*m, 1, H, W] */
function hwcmToDepthwise(k: Float32Array, [h, w, c, m]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) for (let ch = 0; ch < c!; ch++) for (let j = 0; j < m!; j++) {
    out[((ch * m! + j) * h! + y) * w! + x] = k[((y * w! + x) * c! + ch) * m! + j]!;
  }
  return out;
}

export interface OnnxExportOptions {
  /** Text of ModelProto.producer_name. Default: "modelpress". */
  producer?: string;
}

/** Writes `model` as .onnx bytes; `file` names it in errors. */
export function exportOnnx(model: LayersModel, file = 'model.onnx', options: OnnxExportOptions = {}): Uint8Array {
  const nodes: NodeSpec[] = [];
  const inits: TensorSpec[] = [];
  const vals = new Map<SymbolicTensor, Val>();
  const refuse = (layer: tfLayers.Layer, why: string): OnnxError =>
    new OnnxError(`layer ${JSON.stringify(layer.name)} (${layer.getClassName()}): ${why}`, { file }, [`exportable layers: ${EXPORTABLE_LAYERS.join(', ')}`]);
  const weight = (name: string, t: Tensor, data?: Float32Array, dims?: number[]): string => {
    inits.push({ name, dims: dims ?? t.shape, data: data ?? (t.dataSync() as Float32Array) });
    return name;
  };
  const inputs: GraphSpec['inputs'] = [];
  for (const input of model.inputs) {
    const shape = input.shape.slice(1) as number[];
    if (shape.some((d) => d === null)) throw new OnnxError(`input ${JSON.stringify(input.name)} has unknown dims [${input.shape.join(', ')}]: expected a fixed size after the batch`, { file });
    const name = `input_${inputs.length}`;
    const dims = shape.length === 3 ? ['batch', shape[2]!, shape[0]!, shape[1]!] : ['batch', ...shape];
    inputs.push({ name, dims });
    vals.set(input, { name, shape });
  }
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw refuse(layer, 'a layer used more than once (shared weights) is not supported');
    const ins = (layer.inboundNodes[0]!.inputTensors as SymbolicTensor[]).map((t) => {
      const v = vals.get(t);
      if (!v) throw refuse(layer, 'its input is not produced by an earlier layer');
      return v;
    });
    const outT = layer.inboundNodes[0]!.outputTensors[0] as SymbolicTensor;
    const outShape = outT.shape.slice(1) as number[];
    const cfg = layer.getConfig() as LayerConfig;
    const w = layer.getWeights();
    const base = layer.name.replace(/[^A-Za-z0-9_]/g, '_');
    const x = ins[0]!;
    let cur = x.name;
    let n = 0;
    const emit = (opType: string, inputsList: string[], attrs: NodeSpec['attrs'] = {}): string => {
      const out = `${base}${n === 0 ? '' : `_${n}`}:${opType}`;
      nodes.push({ opType, inputs: inputsList, outputs: [out], name: `${base}_${opType}_${n}`, attrs });
      n++;
      return out;
    };
    const activation = (act: unknown): void => {
      switch (act ?? 'linear') {
        case 'linear': return;
        case 'relu': cur = emit('Relu', [cur]); return;
        case 'relu6': cur = emit('Clip', [cur, weightScalar(`${base}_min`, 0), weightScalar(`${base}_max`, 6)]); return;
        case 'sigmoid': cur = emit('Sigmoid', [cur]); return;
        case 'tanh': cur = emit('Tanh', [cur]); return;
        case 'hardSigmoid': cur = emit('HardSigmoid', [cur], { alpha: { float: 0.2 }, beta: { float: 0.5 } }); return;
        case 'softmax': cur = emit('Softmax', [cur], { axis: { int: x.shape.length === 3 ? 1 : -1 } }); return;
        default: throw refuse(layer, `activation ${JSON.stringify(act)} has no ONNX mapping here`);
      }
    };
    const weightScalar = (name: string, v: number): string => {
      if (!inits.some((i) => i.name === name)) inits.push({ name, dims: [], data: [v] });
      return name;
    };
    const windowPads = (kernel: number[], strides: number[], dilation: number[], padding: unknown): number[] => {
      if (padding === 'valid') return [0, 0, 0, 0];
      const ph = samePads(x.shape[0]!, kernel[0]!, strides[0]!, dilation[0]!);
      const pw = samePads(x.shape[1]!, kernel[1]!, strides[1]!, dilation[1]!);
      return [ph[0], pw[0], ph[1], pw[1]];
    };
    switch (cls) {
      case 'Conv2D': case 'DepthwiseConv2D': {
        const kernel = w[0]!;
        const ks = kernel.shape.slice(0, 2);
        const strides = (cfg.strides as number[]) ?? [1, 1];
        const dilation = (cfg.dilationRate as number[] | number) ?? [1, 1];
        const dil = typeof dilation === 'number' ? [dilation, dilation] : dilation;
        const pads = windowPads(ks, strides, dil, cfg.padding);
        const isDw = cls === 'DepthwiseConv2D';
        const [h, wd, i, o] = kernel.shape as number[];
        const data = isDw ? hwcmToDepthwise(kernel.dataSync() as Float32Array, kernel.shape) : hwioToOihw(kernel.dataSync() as Float32Array, kernel.shape);
        const dims = isDw ? [i! * o!, 1, h!, wd!] : [o!, i!, h!, wd!];
        const inputsList = [cur, weight(`${base}_W`, kernel, data, dims)];
        if (w[1]) inputsList.push(weight(`${base}_B`, w[1]));
        cur = emit('Conv', inputsList, {
          kernel_shape: { ints: ks }, strides: { ints: strides }, dilations: { ints: dil }, pads: { ints: pads }, group: { int: isDw ? i! : 1 },
        });
        activation(cfg.activation);
        break;
      }
      case 'Dense': {
        if (x.shape.length !== 1) throw refuse(layer, `expected a 2-D input [batch, features], got rank ${x.shape.length + 1}`);
        const inputsList = [cur, weight(`${base}_W`, w[0]!)];
        if (w[1]) inputsList.push(weight(`${base}_B`, w[1]));
        cur = emit('Gemm', inputsList);
        activation(cfg.activation);
        break;
      }
      case 'BatchNormalization': {
        const axis = cfg.axis as number | number[];
        const a = Array.isArray(axis) ? axis[0]! : axis;
        if (a !== -1 && a !== x.shape.length) throw refuse(layer, `axis ${a}: expected the channel axis (-1)`);
        const c = x.shape[x.shape.length - 1]!;
        const names = ['gamma', 'beta', 'moving_mean', 'moving_variance'];
        const byName = new Map(layer.weights.map((lw, k) => [lw.originalName.split('/').pop()!, w[k]!]));
        const get = (nm: string, fill: number): string => {
          const t = byName.get(nm);
          return t ? weight(`${base}_${nm}`, t) : (inits.push({ name: `${base}_${nm}`, dims: [c], data: new Float32Array(c).fill(fill) }), `${base}_${nm}`);
        };
        cur = emit('BatchNormalization', [cur, get(names[0]!, 1), get(names[1]!, 0), get(names[2]!, 0), get(names[3]!, 1)], { epsilon: { float: cfg.epsilon as number } });
        break;
      }
      case 'ReLU': {
        const max = cfg.maxValue as number | null | undefined;
        cur = max !== null && max !== undefined ? emit('Clip', [cur, weightScalar(`${base}_min`, 0), weightScalar(`${base}_max`, max)]) : emit('Relu', [cur]);
        break;
      }
      case 'LeakyReLU': cur = emit('LeakyRelu', [cur], { alpha: { float: cfg.alpha as number } }); break;
      case 'Activation': activation(cfg.activation); break;
      case 'Softmax': {
        const axis = cfg.axis as number;
        cur = emit('Softmax', [cur], { axis: { int: nhwcToNchwAxis(axis, x.shape.length + 1) } });
        break;
      }
      case 'MaxPooling2D': case 'AveragePooling2D': {
        const pool = cfg.poolSize as number[];
        const strides = (cfg.strides as number[] | null) ?? pool;
        const pads = windowPads(pool, strides, [1, 1], cfg.padding);
        // tfjs's same average excludes the pads from the count.
        const attrs: NodeSpec['attrs'] = { kernel_shape: { ints: pool }, strides: { ints: strides }, pads: { ints: pads } };
        if (cls === 'AveragePooling2D') attrs.count_include_pad = { int: 0 };
        cur = emit(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [cur], attrs);
        break;
      }
      case 'GlobalAveragePooling2D': case 'GlobalMaxPooling2D':
        cur = emit(cls === 'GlobalMaxPooling2D' ? 'GlobalMaxPool' : 'GlobalAveragePool', [cur]);
        cur = emit('Flatten', [cur]);
        break;
      case 'Flatten':
        // tfjs flattens NHWC in (h, w, c) order: transpose first, so the Dense after keeps its rows.
        if (x.shape.length === 3) cur = emit('Transpose', [cur], { perm: { ints: [0, 2, 3, 1] } });
        cur = emit('Flatten', [cur]);
        break;
      case 'Reshape': {
        const target = cfg.targetShape as number[];
        if (x.shape.length === 1 && target.length === 3 && target[0] === 1 && target[1] === 1) {
          cur = emit('Reshape', [cur, shapeInit(`${base}_shape`, [-1, target[2]!, 1, 1])]);
        } else if (target.length === 1) {
          if (x.shape.length === 3) cur = emit('Transpose', [cur], { perm: { ints: [0, 2, 3, 1] } });
          cur = emit('Reshape', [cur, shapeInit(`${base}_shape`, [-1, target[0]!])]);
        } else {
          throw refuse(layer, `Reshape from [${x.shape.join(', ')}] to [${target.join(', ')}] has no NCHW equivalent here`);
        }
        break;
      }
      case 'ZeroPadding2D': {
        const p = cfg.padding as number[][];
        cur = emit('Pad', [cur, shapeInit(`${base}_pads`, [0, 0, p[0]![0]!, p[1]![0]!, 0, 0, p[0]![1]!, p[1]![1]!])]);
        break;
      }
      case 'Add': case 'Multiply':
        // ONNX Add and Mul take two inputs; tfjs merge layers take any number.
        if (ins.length > 2) throw refuse(layer, `${ins.length} inputs: expected 2`);
        cur = emit(cls === 'Add' ? 'Add' : 'Mul', ins.map((v) => v.name));
        break;
      case 'Concatenate':
        cur = emit('Concat', ins.map((v) => v.name), { axis: { int: nhwcToNchwAxis(cfg.axis as number, x.shape.length + 1) } });
        break;
      case 'Dropout':
        cur = emit('Identity', [cur]);
        break;
      case 'Permute': {
        // The importer's NCHW-input Permute([2, 3, 1]): the ONNX graph is NCHW already.
        const dims = cfg.dims as number[];
        if (dims.join() !== '2,3,1' || x.shape.length !== 3) throw refuse(layer, `Permute ${JSON.stringify(dims)} has no NCHW equivalent here`);
        cur = emit('Identity', [cur]);
        // Its input was declared [C, H, W] in tfjs: the ONNX input is that, as NCHW.
        const inputDecl = inputs.find((i) => i.name === x.name);
        if (inputDecl) inputDecl.dims = ['batch', x.shape[0]!, x.shape[1]!, x.shape[2]!];
        break;
      }
      default:
        throw refuse(layer, 'no ONNX mapping for this layer class');
    }
    vals.set(outT, { name: cur, shape: outShape });
  }
  const outputs: GraphSpec['outputs'] = model.outputs.map((o, k) => {
    const v = vals.get(o)!;
    const name = `output_${k}`;
    nodes.push({ opType: 'Identity', inputs: [v.name], outputs: [name], name: `output_${k}` });
    const s = v.shape;
    return { name, dims: s.length === 3 ? ['batch', s[2]!, s[0]!, s[1]!] : ['batch', ...s] };
  });
  function shapeInit(name: string, values: number[]): string {
    inits.push({ name, dims: [values.length], data: values, int64: true });
    return name;
  }
  return writeOnnxModel({ opset: EXPORT_OPSET, producer: options.producer ?? 'modelpress', inputs, outputs, initializers: inits, nodes });
}
