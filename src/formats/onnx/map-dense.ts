/**
 * Gemm, and MatMul (+ the Add of its bias), -> tfjs Dense. A Dense after a
 * Flatten of an NHWC tensor gets its kernel rows permuted from ONNX's
 * (c, h, w) order to tfjs's (h, w, c), so no transpose runs at inference.
 */
import type { ImportContext } from './import-context.js';
import { chwRowsToHwc } from './layout.js';
import type { OnnxTensor } from './onnx-tensor.js';
import type { OnnxNode } from './read-model.js';

/** A bias-shaped constant ([n], [1, n] or a scalar) as n values, or undefined. */
function asBias(t: OnnxTensor, n: number, scale: number): Float32Array | undefined {
  const size = t.data.length;
  if (size === n && (t.dims.length === 1 || (t.dims.length === 2 && t.dims[0] === 1))) return Float32Array.from(t.data, (v) => v * scale);
  if (size === 1) return new Float32Array(n).fill(t.data[0]! * scale);
  return undefined;
}

function dense(ctx: ImportContext, node: OnnxNode, kernel: Float32Array, inUnits: number, outUnits: number, bias: Float32Array | undefined, how: string): void {
  const x = ctx.sym(node, 0);
  if (x.shape.length !== 2) {
    throw ctx.error(node, `expected a 2-D input [batch, features], got rank ${x.shape.length} [${x.shape.join(', ')}]`, ['flatten before the linear layer (torch.flatten(x, 1))']);
  }
  if (x.shape[1] !== inUnits) throw ctx.error(node, `the weight expects ${inUnits} input features, the input has ${x.shape[1]}`);
  let k = kernel;
  let note = how;
  if (x.flat) {
    const { c, h, w } = x.flat;
    k = chwRowsToHwc(kernel, c, h, w, outUnits);
    note += `, kernel rows permuted C*H*W -> H*W*C (${c}x${h}x${w})`;
  }
  const name = ctx.layerName(node);
  const layer = ctx.tf.layers.dense({ units: outUnits, useBias: bias !== undefined, name });
  const sym = ctx.apply(layer, x.sym);
  const ws = [ctx.tf.tensor(k, [inUnits, outUnits])];
  if (bias) ws.push(ctx.tf.tensor(bias, [outUnits]));
  layer.setWeights(ws);
  ctx.tf.dispose(ws);
  ctx.values.set(node.outputs[0]!, { kind: 'sym', sym, shape: [x.shape[0]!, outUnits], layout: 'plain' });
  ctx.record(node, `Dense ${name} (${note})`, [name]);
}

/** [rows, cols] row-major -> its transpose. */
function transpose2d(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

export function mapGemm(ctx: ImportContext, node: OnnxNode): void {
  if (ctx.int(node, 'transA', 0) !== 0) throw ctx.error(node, 'transA = 1 is not supported: expected the activations as A [batch, features]');
  const b = ctx.constant(node, 1, 'B (the weight)');
  if (b.dims.length !== 2) throw ctx.error(node, `expected a 2-D weight B, got [${b.dims.join(', ')}]`);
  const alpha = ctx.float(node, 'alpha', 1);
  const beta = ctx.float(node, 'beta', 1);
  const transB = ctx.int(node, 'transB', 0) !== 0;
  const [inUnits, outUnits] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  let kernel = transB ? transpose2d(b.data, b.dims[0]!, b.dims[1]!) : Float32Array.from(b.data);
  if (alpha !== 1) kernel = kernel.map((v) => v * alpha);
  let bias: Float32Array | undefined;
  if (ctx.hasInput(node, 2)) {
    const c = ctx.constant(node, 2, 'C (the bias)');
    bias = asBias(c, outUnits, beta);
    if (!bias) throw ctx.error(node, `expected C of shape [${outUnits}] or [1, ${outUnits}], got [${c.dims.join(', ')}]`);
  }
  dense(ctx, node, kernel, inUnits, outUnits, bias, `Gemm${transB ? ' transB' : ''}${alpha !== 1 || beta !== 1 ? `, alpha ${alpha} beta ${beta} folded` : ''}`);
}

/**
 * MatMul with a constant right-hand side. When its only consumer is an Add
 * of a bias-shaped constant (PyTorch's Linear at some opsets), that Add
 * becomes the Dense's bias: `fusedAdds` tells the builder to skip it.
 */
export function mapMatMul(ctx: ImportContext, node: OnnxNode, consumers: Map<string, OnnxNode[]>, fusedAdds: Map<number, number>): void {
  const b = ctx.constant(node, 1, 'the right-hand side (the weight)');
  if (b.dims.length !== 2) throw ctx.error(node, `expected a 2-D weight, got [${b.dims.join(', ')}]`);
  const [inUnits, outUnits] = b.dims as [number, number];
  let bias: Float32Array | undefined;
  const next = consumers.get(node.outputs[0]!) ?? [];
  if (next.length === 1 && next[0]!.opType === 'Add') {
    const add = next[0]!;
    const other = add.inputs[0] === node.outputs[0] ? add.inputs[1] : add.inputs[0];
    const v = other ? ctx.values.get(other) : undefined;
    if (v?.kind === 'const') bias = asBias(v.tensor, outUnits, 1);
    if (bias) fusedAdds.set(add.index, node.index);
  }
  dense(ctx, node, Float32Array.from(b.data), inUnits, outUnits, bias, bias ? 'MatMul + Add as Dense' : 'MatMul as Dense without bias');
}
