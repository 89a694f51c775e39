/**
 * The state an import threads through the op mappers: every ONNX value
 * name bound to either a compile-time constant or a tfjs SymbolicTensor with
 * its ONNX shape and layout, plus the per-node mapping record `inspect`
 * prints. One concept: "what does this ONNX value look like in tfjs".
 */
import type { SymbolicTensor, layers as tfLayers } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import { OnnxError } from './onnx-error.js';
import type { OnnxTensor } from './onnx-tensor.js';
import type { OnnxAttr, OnnxModel, OnnxNode } from './read-model.js';

/**
 * A tensor of the model being built.
 * - `nhwc`: a rank-4 ONNX NCHW value held by tfjs as NHWC.
 * - `plain`: tfjs holds the ONNX dims in the same order (rank 2 and 3).
 * `flat` marks a rank-2 value made by flattening an NHWC tensor whose
 * element order is therefore (h, w, c), not ONNX's (c, h, w): a Dense that
 * consumes it permutes its kernel rows; anything else gets the ONNX order
 * back through `materialize`.
 */
export interface SymValue {
  kind: 'sym';
  sym: SymbolicTensor;
  /** ONNX shape; dim 0 is the batch (its number is the file's, tfjs leaves it free). */
  shape: number[];
  layout: 'nhwc' | 'plain';
  flat?: { c: number; h: number; w: number };
  /** Known to be >= 0 (after ReLU, sigmoid, softmax): zero padding is then exact for MaxPool. */
  nonNegative?: boolean;
}

export interface ConstValue {
  kind: 'const';
  tensor: OnnxTensor;
}

export type Value = SymValue | ConstValue;

/** How one ONNX node became tfjs: what `inspect` shows per node. */
export interface NodeMapping {
  index: number;
  name: string;
  opType: string;
  /** e.g. "Conv2D onnx_conv_0 (ZeroPadding2D [[1,1],[1,1]] + valid)", "folded constant". */
  mapping: string;
  /** tfjs layer names created for the node. */
  layers: string[];
}

export class ImportContext {
  readonly values = new Map<string, Value>();
  readonly mappings: NodeMapping[] = [];
  private readonly used = new Set<string>();

  constructor(
    readonly tf: Tf,
    readonly model: OnnxModel,
  ) {}

  /** An OnnxError located at `node`. */
  error(node: OnnxNode, reason: string, hints: string[] = []): OnnxError {
    return new OnnxError(reason, { file: this.model.file, nodeIndex: node.index, nodeName: node.name, opType: node.opType, opset: this.model.opset }, hints);
  }

  value(node: OnnxNode, i: number): Value {
    const name = node.inputs[i];
    const v = name ? this.values.get(name) : undefined;
    if (!v) throw this.error(node, `input ${i} (${JSON.stringify(name ?? '')}) is not produced by any earlier node, initializer or graph input`, ['the graph must be topologically sorted, as onnx.checker requires']);
    return v;
  }

  hasInput(node: OnnxNode, i: number): boolean {
    return (node.inputs[i] ?? '') !== '';
  }

  /** Input `i` as a constant (a weight or a folded shape), or a located error saying it must be one. */
  constant(node: OnnxNode, i: number, what: string): OnnxTensor {
    const v = this.value(node, i);
    if (v.kind !== 'const') throw this.error(node, `${what} (input ${i}) must be a constant (an initializer or Constant), got a value computed at run time`);
    return v.tensor;
  }

  /** Input `i` as a run-time tensor. */
  sym(node: OnnxNode, i: number): SymValue {
    const v = this.value(node, i);
    if (v.kind !== 'sym') throw this.error(node, `input ${i} is a constant; modelpress maps ${node.opType} on run-time tensors only`);
    return v;
  }

  attr(node: OnnxNode, name: string): OnnxAttr | undefined {
    return node.attrs.get(name);
  }

  int(node: OnnxNode, name: string, def: number): number {
    const a = node.attrs.get(name);
    return a && (a.type === 'int' || a.type === 'float') ? a.value : def;
  }

  float(node: OnnxNode, name: string, def: number): number {
    const a = node.attrs.get(name);
    return a && (a.type === 'float' || a.type === 'int') ? a.value : def;
  }

  ints(node: OnnxNode, name: string): number[] | undefined {
    const a = node.attrs.get(name);
    return a?.type === 'ints' ? a.value : undefined;
  }

  string(node: OnnxNode, name: string, def: string): string {
    const a = node.attrs.get(name);
    return a?.type === 'string' ? a.value : def;
  }

  /** A unique, tfjs-valid layer name derived from the node. */
  layerName(node: OnnxNode, suffix = ''): string {
    const base = `onnx_${node.index}_${node.opType.toLowerCase()}${suffix ? `_${suffix}` : ''}`;
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Applies `layer` to `input` and returns the output (one tensor). */
  apply(layer: tfLayers.Layer, input: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    return layer.apply(input) as SymbolicTensor;
  }

  /**
   * The value with ONNX's element order: a `flat` value is reshaped back to
   * (h, w, c), permuted to (c, h, w) and flattened again.
   */
  materialize(node: OnnxNode, v: SymValue): SymValue {
    if (!v.flat) return v;
    const { c, h, w } = v.flat;
    const L = this.tf.layers;
    let s = this.apply(L.reshape({ targetShape: [h, w, c], name: this.layerName(node, 'unflatten') }), v.sym);
    s = this.apply(L.permute({ dims: [3, 1, 2], name: this.layerName(node, 'to_chw') }), s);
    s = this.apply(L.flatten({ name: this.layerName(node, 'flatten_chw') }), s);
    return { ...v, sym: s, flat: undefined };
  }

  record(node: OnnxNode, mapping: string, layers: string[] = []): void {
    this.mappings.push({ index: node.index, name: node.name, opType: node.opType, mapping, layers });
  }
}
