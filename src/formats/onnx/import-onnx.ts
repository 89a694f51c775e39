/**
 * ONNX -> a trainable tfjs LayersModel. Reads the file (read-model.ts), walks
 * the nodes in order, folds constant arithmetic (map-tensor-ops.ts) and maps
 * every other node to tfjs layers (op-table.ts) with their weights moved from
 * NCHW to NHWC (layout.ts). The result is a plain functional LayersModel:
 * stock tfjs loads it, and prune/share/distill fine-tune it like any other.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import { ImportContext } from './import-context.js';
import type { NodeMapping, SymValue } from './import-context.js';
import { mapMatMul } from './map-dense.js';
import { foldConstantNode } from './map-tensor-ops.js';
import { OnnxError } from './onnx-error.js';
import { LAYER_OPS, SUPPORTED_OPS, isSupportedOp } from './op-table.js';
import type { OnnxModel, OnnxNode } from './read-model.js';
import { readOnnxModel } from './read-model.js';

export interface OnnxImportOptions {
  /**
   * Layout of the imported model's image inputs. `nhwc` (default): the tfjs
   * way, [batch, height, width, channels], what modelpress's mnist and images
   * loaders give. `nchw`: the model takes PyTorch's [batch, channels, height,
   * width] and transposes it first (a Permute layer), for data kept in NCHW
   * (the images loader's `layout: nchw`).
   */
  inputLayout?: 'nhwc' | 'nchw';
}

/** What the importer made, beside the model. */
export interface OnnxImportResult {
  model: LayersModel;
  /** One entry per ONNX node, in graph order. */
  mappings: NodeMapping[];
  /** Per graph input: its ONNX shape and the layout the tfjs model expects. */
  inputs: { name: string; shape: number[]; layout: 'nhwc' | 'nchw' | 'plain' }[];
  /** Per graph output: its ONNX shape and the tfjs layout (nhwc for 4-D outputs). */
  outputs: { name: string; shape: number[]; layout: 'nhwc' | 'plain' }[];
  opset: number;
  producer: string;
}

/**
 * The first node the importer cannot map, checked before any layer is made,
 * so the error names the op and lists what is supported.
 */
export function checkSupportedOps(model: OnnxModel): void {
  for (const node of model.nodes) {
    if (!isSupportedOp(node.opType, node.domain)) {
      const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
      throw new OnnxError(
        `op ${op} is not supported`,
        { file: model.file, nodeIndex: node.index, nodeName: node.name, opType: node.opType, opset: model.opset },
        [`supported ops: ${SUPPORTED_OPS.join(', ')}`, 'see docs/onnx.md for how each maps, and how to export a model that uses them'],
      );
    }
  }
}

export function importOnnxBytes(tf: Tf, bytes: Uint8Array, file: string, options: OnnxImportOptions = {}): OnnxImportResult {
  return importOnnxModel(tf, readOnnxModel(bytes, file), options);
}

export function importOnnxModel(tf: Tf, model: OnnxModel, options: OnnxImportOptions = {}): OnnxImportResult {
  const inputLayout = options.inputLayout ?? 'nhwc';
  if (inputLayout !== 'nhwc' && inputLayout !== 'nchw') throw new TypeError(`Expected inputLayout to be "nhwc" or "nchw", got ${JSON.stringify(inputLayout)}`);
  checkSupportedOps(model);
  const ctx = new ImportContext(tf, model);
  for (const [name, t] of model.initializers) ctx.values.set(name, { kind: 'const', tensor: t });
  const inputs: SymbolicTensor[] = [];
  const inputInfo: OnnxImportResult['inputs'] = [];
  for (const info of model.inputs) {
    const dims = info.dims;
    if (!dims || dims.length < 2 || dims.slice(1).some((d) => typeof d !== 'number')) {
      throw new OnnxError(`graph input ${JSON.stringify(info.name)} has shape [${(dims ?? []).join(', ')}]: expected a batch dim followed by fixed sizes`, { file: model.file, opset: model.opset }, [
        'export with a fixed input size (only the batch may be dynamic: dynamic_axes={"input": {0: "batch"}})',
      ]);
    }
    const shape = dims.map((d) => (typeof d === 'number' ? d : -1));
    const rest = shape.slice(1);
    let sym: SymbolicTensor;
    let input: SymbolicTensor;
    const safe = `input_${inputs.length}`;
    if (shape.length === 4) {
      const [c, h, w] = rest as [number, number, number];
      if (inputLayout === 'nchw') {
        input = tf.input({ shape: [c, h, w], name: safe });
        sym = tf.layers.permute({ dims: [2, 3, 1], name: `${safe}_to_nhwc` }).apply(input) as SymbolicTensor;
      } else {
        input = tf.input({ shape: [h, w, c], name: safe });
        sym = input;
      }
      ctx.values.set(info.name, { kind: 'sym', sym, shape, layout: 'nhwc' });
      inputInfo.push({ name: info.name, shape, layout: inputLayout });
    } else {
      input = tf.input({ shape: rest, name: safe });
      ctx.values.set(info.name, { kind: 'sym', sym: input, shape, layout: 'plain' });
      inputInfo.push({ name: info.name, shape, layout: 'plain' });
    }
    inputs.push(input);
  }
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of model.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const fusedAdds = new Map<number, number>();
  for (const node of model.nodes) {
    const fusedInto = fusedAdds.get(node.index);
    if (fusedInto !== undefined) {
      const mm = model.nodes[fusedInto]!;
      ctx.values.set(node.outputs[0]!, ctx.values.get(mm.outputs[0]!)!);
      ctx.record(node, `bias of the Dense of node ${fusedInto} (MatMul + Add)`);
      continue;
    }
    if (foldConstantNode(ctx, node)) continue;
    if (node.opType === 'MatMul') {
      mapMatMul(ctx, node, consumers, fusedAdds);
      continue;
    }
    const mapper = LAYER_OPS[node.opType];
    if (!mapper) throw ctx.error(node, `${node.opType} is supported only on constants (shape arithmetic), and an input here is computed at run time`);
    mapper(ctx, node);
  }
  const outputs: SymbolicTensor[] = [];
  const outputInfo: OnnxImportResult['outputs'] = [];
  for (const info of model.outputs) {
    const v = ctx.values.get(info.name);
    if (!v || v.kind !== 'sym') {
      throw new OnnxError(`graph output ${JSON.stringify(info.name)} is ${v ? 'a constant' : 'not produced by any node'}: expected a value computed from the inputs`, { file: model.file, opset: model.opset });
    }
    const last = model.nodes[model.nodes.length - 1]!;
    const m: SymValue = ctx.materialize(last, v);
    outputs.push(m.sym);
    outputInfo.push({ name: info.name, shape: m.shape, layout: m.layout });
  }
  const layersModel = tf.model({ inputs, outputs, name: 'onnx_import' });
  return { model: layersModel, mappings: ctx.mappings, inputs: inputInfo, outputs: outputInfo, opset: model.opset, producer: model.producer };
}
