/**
 * Structural ops: Identity, Dropout, Add, Mul, Concat, Flatten, Reshape, Pad,
 * and the constant arithmetic PyTorch emits around them (Constant, Shape,
 * Gather, Unsqueeze, Squeeze, Cast, Transpose, Add/Sub/Mul/Div of
 * constants), folded at import by fold-constants.ts.
 */
import type { ImportContext, SymValue, Value } from './import-context.js';
import { nchwAxisToNhwc } from './layout.js';
import { binary, concat, gather, intTensor, squeeze, transpose, unsqueeze } from './fold-constants.js';
import type { OnnxTensor } from './onnx-tensor.js';
import type { OnnxNode } from './read-model.js';

function setSym(ctx: ImportContext, node: OnnxNode, v: SymValue, mapping: string, layers: string[] = []): void {
  ctx.values.set(node.outputs[0]!, v);
  ctx.record(node, mapping, layers);
}

function setConst(ctx: ImportContext, node: OnnxNode, t: OnnxTensor): void {
  ctx.values.set(node.outputs[0]!, { kind: 'const', tensor: t });
  ctx.record(node, `folded constant [${t.dims.join(', ')}]`);
}

/** Axes from the attribute (before opset 13) or a constant input (13+). */
function axesOf(ctx: ImportContext, node: OnnxNode): number[] | undefined {
  if (ctx.hasInput(node, 1)) return Array.from(ctx.constant(node, 1, 'axes').data);
  return ctx.ints(node, 'axes');
}

/** Evaluates a node whose inputs are all constants. Returns false if `node` is not one. */
export function foldConstantNode(ctx: ImportContext, node: OnnxNode): boolean {
  if (node.opType === 'Constant') {
    const a = ctx.attr(node, 'value');
    if (a?.type === 'tensor') setConst(ctx, node, a.value);
    else if (a?.type === 'float' || ctx.attr(node, 'value_float')) setConst(ctx, node, { name: '', dims: [], kind: 'float32', data: Float32Array.of(ctx.float(node, 'value_float', a?.type === 'float' ? a.value : 0)) });
    else if (ctx.attr(node, 'value_int')) setConst(ctx, node, intTensor([], [ctx.int(node, 'value_int', 0)]));
    else if (ctx.attr(node, 'value_ints')) { const v = ctx.ints(node, 'value_ints')!; setConst(ctx, node, intTensor([v.length], v)); }
    else throw ctx.error(node, 'expected a Constant with value, value_float, value_int or value_ints');
    return true;
  }
  if (node.opType === 'Shape') {
    const v = ctx.value(node, 0);
    const dims = v.kind === 'const' ? v.tensor.dims : v.shape;
    setConst(ctx, node, intTensor([dims.length], dims));
    return true;
  }
  const inputs: Value[] = node.inputs.filter((n) => n !== '').map((_, i) => ctx.value(node, i));
  if (inputs.length === 0 || inputs.some((v) => v.kind !== 'const')) return false;
  const ts = inputs.map((v) => (v as { tensor: OnnxTensor }).tensor);
  switch (node.opType) {
    case 'Identity': case 'Cast': setConst(ctx, node, ts[0]!); return true;
    case 'Gather': setConst(ctx, node, gather(ts[0]!, ts[1]!, ctx.int(node, 'axis', 0))); return true;
    case 'Unsqueeze': setConst(ctx, node, unsqueeze(ts[0]!, axesOf(ctx, node) ?? [])); return true;
    case 'Squeeze': setConst(ctx, node, squeeze(ts[0]!, axesOf(ctx, node))); return true;
    case 'Concat': setConst(ctx, node, concat(ts, ctx.int(node, 'axis', 0))); return true;
    case 'Transpose': setConst(ctx, node, transpose(ts[0]!, ctx.ints(node, 'perm'))); return true;
    case 'Add': case 'Sub': case 'Mul': case 'Div': setConst(ctx, node, binary(node.opType, ts[0]!, ts[1]!)); return true;
    default: return false;
  }
}

export function mapPassThrough(ctx: ImportContext, node: OnnxNode): void {
  if (node.opType === 'Dropout' && node.outputs[1]) throw ctx.error(node, 'the mask output of Dropout is not supported', ['export in eval mode: model.eval()']);
  const x = ctx.sym(node, 0);
  setSym(ctx, node, x, node.opType === 'Dropout' ? 'identity (Dropout is a no-op at inference; add dropout in the recipe if you fine-tune)' : 'identity');
}

/** Same tfjs shape and element order for both, or a located error. */
function pairwise(ctx: ImportContext, node: OnnxNode): [SymValue, SymValue] {
  let a = ctx.sym(node, 0);
  let b = ctx.sym(node, 1);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => i > 0 && d !== b.shape[i])) {
    throw ctx.error(node, `expected two inputs of the same shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]: broadcasting between run-time tensors is not supported`);
  }
  if (a.flat || b.flat) {
    if (!(a.flat && b.flat)) { a = ctx.materialize(node, a); b = ctx.materialize(node, b); }
  }
  return [a, b];
}

export function mapBinary(ctx: ImportContext, node: OnnxNode): void {
  const va = ctx.value(node, 0);
  const vb = ctx.value(node, 1);
  if (va.kind === 'const' || vb.kind === 'const') {
    const [c, x] = va.kind === 'const' ? [va.tensor, vb] : [(vb as { tensor: OnnxTensor }).tensor, va];
    const neutral = node.opType === 'Add' ? 0 : 1;
    if (x.kind === 'sym' && c.data.every((v) => v === neutral)) return setSym(ctx, node, x, `identity (${node.opType} of ${neutral})`);
    throw ctx.error(node, `${node.opType} of a run-time tensor and a constant is not supported (except a bias right after MatMul)`, [
      'modelpress maps Add and Mul of two tensors of the same shape (residual connections, gating)',
    ]);
  }
  const [a, b] = pairwise(ctx, node);
  const name = ctx.layerName(node);
  const L = ctx.tf.layers;
  const layer = node.opType === 'Add' ? L.add({ name }) : L.multiply({ name });
  const sym = ctx.apply(layer, [a.sym, b.sym]);
  setSym(ctx, node, { ...a, sym, nonNegative: a.nonNegative && b.nonNegative }, `${node.opType === 'Add' ? 'Add' : 'Multiply'} ${name}`, [name]);
}

export function mapConcat(ctx: ImportContext, node: OnnxNode): void {
  const xs = node.inputs.map((_, i) => ctx.materialize(node, ctx.sym(node, i)));
  const rank = xs[0]!.shape.length;
  let axis = ctx.int(node, 'axis', 1);
  if (axis < 0) axis += rank;
  if (axis === 0) throw ctx.error(node, 'Concat along the batch axis (0) is not supported');
  if (xs.some((x) => x.layout !== xs[0]!.layout || x.shape.length !== rank)) throw ctx.error(node, 'expected inputs of the same rank');
  const tfAxis = xs[0]!.layout === 'nhwc' ? nchwAxisToNhwc(axis) : axis;
  const name = ctx.layerName(node);
  const sym = ctx.apply(ctx.tf.layers.concatenate({ axis: tfAxis, name }), xs.map((x) => x.sym));
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  setSym(ctx, node, { kind: 'sym', sym, shape, layout: xs[0]!.layout, nonNegative: xs.every((x) => x.nonNegative) }, `Concatenate ${name} (axis ${tfAxis})`, [name]);
}

/** Flattens to [N, rest]; an NHWC source with H*W > 1 and C > 1 is tagged `flat`. */
function flatten(ctx: ImportContext, node: OnnxNode, x: SymValue, how: string): void {
  const rest = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const shape = [x.shape[0]!, rest];
  if (x.shape.length === 2) return setSym(ctx, node, x, `identity (${how} of a 2-D tensor)`);
  const name = ctx.layerName(node);
  const sym = ctx.apply(ctx.tf.layers.flatten({ name }), x.sym);
  let flat: SymValue['flat'];
  if (x.layout === 'nhwc') {
    const [c, h, w] = [x.shape[1]!, x.shape[2]!, x.shape[3]!];
    if (c > 1 && h * w > 1) flat = { c, h, w };
  }
  setSym(ctx, node, { kind: 'sym', sym, shape, layout: 'plain', flat, nonNegative: x.nonNegative }, `Flatten ${name}${flat ? ' (H*W*C order; the next Dense permutes its rows)' : ''}`, [name]);
}

export function mapFlatten(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.sym(node, 0);
  const axis = ctx.int(node, 'axis', 1);
  if (axis !== 1) throw ctx.error(node, `Flatten with axis ${axis} is not supported: expected axis 1 (keep the batch)`);
  flatten(ctx, node, x, 'Flatten');
}

export function mapReshape(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.sym(node, 0);
  // The shape is an input since opset 5 (the importer reads 6 and up).
  const raw = Array.from(ctx.constant(node, 1, 'the target shape').data);
  const allowZero = ctx.int(node, 'allowzero', 0) === 1;
  const target = raw.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
  const total = x.shape.reduce((a, b) => a * b, 1);
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const full = target.map((d) => (d === -1 ? total / known : d));
  if (full[0] !== x.shape[0]) throw ctx.error(node, `Reshape to [${raw.join(', ')}] changes the batch dimension; expected the first dim to stay ${x.shape[0]} (or -1 / 0)`);
  if (full.length === x.shape.length && full.every((d, i) => d === x.shape[i])) return setSym(ctx, node, x, 'identity (Reshape to the same shape)');
  if (full.length === 2) return flatten(ctx, node, x, 'Reshape');
  const src = ctx.materialize(node, x);
  if (src.layout !== 'plain') throw ctx.error(node, `Reshape of a 4-D NCHW tensor to [${full.join(', ')}] is not supported: expected [N, C*H*W] (a flatten)`);
  const name = ctx.layerName(node);
  let sym = ctx.apply(ctx.tf.layers.reshape({ targetShape: full.slice(1), name }), src.sym);
  const layers = [name];
  let layout: SymValue['layout'] = 'plain';
  if (full.length === 4) {
    // An NCHW result: hold it as NHWC like every other 4-D value.
    const p = ctx.layerName(node, 'to_nhwc');
    sym = ctx.apply(ctx.tf.layers.permute({ dims: [2, 3, 1], name: p }), sym);
    layers.push(p);
    layout = 'nhwc';
  }
  setSym(ctx, node, { kind: 'sym', sym, shape: full, layout, nonNegative: x.nonNegative }, `Reshape ${layers.join(' + ')}`, layers);
}

export function mapPad(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.sym(node, 0);
  const mode = ctx.string(node, 'mode', 'constant');
  if (mode !== 'constant') throw ctx.error(node, `Pad mode ${JSON.stringify(mode)} is not supported: expected "constant" (zero padding)`);
  const pads = ctx.model.opset < 11 ? ctx.ints(node, 'pads') ?? ctx.ints(node, 'paddings') ?? [] : Array.from(ctx.constant(node, 1, 'pads').data);
  const value = ctx.model.opset < 11 ? ctx.float(node, 'value', 0) : ctx.hasInput(node, 2) ? ctx.constant(node, 2, 'constant_value').data[0]! : 0;
  if (value !== 0) throw ctx.error(node, `Pad with value ${value} is not supported: expected 0`);
  if (x.layout !== 'nhwc' || pads.length !== 8) throw ctx.error(node, `expected padding of a 4-D NCHW tensor (8 pads), got ${pads.length} pads on rank ${x.shape.length}`);
  const [n0, c0, t, l, n1, c1, b, r] = pads as [number, number, number, number, number, number, number, number];
  if (n0 || c0 || n1 || c1) throw ctx.error(node, 'padding the batch or channel dims is not supported: expected pads on H and W only');
  if ([t, l, b, r].some((p) => p < 0)) throw ctx.error(node, `negative pads [${pads.join(', ')}] (cropping) are not supported`);
  const name = ctx.layerName(node);
  const sym = ctx.apply(ctx.tf.layers.zeroPadding2d({ padding: [[t, b], [l, r]], name }), x.sym);
  setSym(ctx, node, { ...x, sym, shape: [x.shape[0]!, x.shape[1]!, x.shape[2]! + t + b, x.shape[3]! + l + r] }, `ZeroPadding2D ${name} [[${t},${b}],[${l},${r}]]`, [name]);
}
