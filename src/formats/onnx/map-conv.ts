/**
 * Conv -> tfjs Conv2D (group 1), DepthwiseConv2D (group = input channels,
 * any channel multiplier) or Conv2D with a block-diagonal kernel (other
 * groups: tfjs layers have no grouped convolution). Padding as PyTorch
 * pads: `same` only where it is the same pixels, else ZeroPadding2D + valid.
 */
import type { ImportContext, SymValue } from './import-context.js';
import { choosePadding, depthwiseToHwcm, groupedToHwio, oihwToHwio, samePads, windowOut } from './layout.js';
import type { OnnxNode } from './read-model.js';

/** The padding a Conv or pool node asks for: [top, left, bottom, right]. */
export function nodePads(ctx: ImportContext, node: OnnxNode, x: SymValue, kernel: [number, number], stride: [number, number], dilation: [number, number]): [number, number, number, number] {
  const auto = ctx.string(node, 'auto_pad', 'NOTSET');
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const ph = samePads(h, kernel[0], stride[0], dilation[0]);
    const pw = samePads(w, kernel[1], stride[1], dilation[1]);
    // SAME_LOWER puts the odd pixel before.
    return auto === 'SAME_UPPER' ? [ph[0], pw[0], ph[1], pw[1]] : [ph[1], pw[1], ph[0], pw[0]];
  }
  if (auto !== 'NOTSET') throw ctx.error(node, `auto_pad ${JSON.stringify(auto)} is not an ONNX value: expected NOTSET, SAME_UPPER, SAME_LOWER or VALID`);
  const pads = ctx.ints(node, 'pads') ?? [0, 0, 0, 0];
  if (pads.length !== 4) throw ctx.error(node, `expected 4 pads for a 2-D window, got ${pads.length}`);
  return pads as [number, number, number, number];
}

/** Rank-4 NCHW input check shared by Conv and the pools. */
export function spatialInput(ctx: ImportContext, node: OnnxNode): SymValue {
  const x = ctx.sym(node, 0);
  if (x.shape.length !== 4 || x.layout !== 'nhwc') {
    throw ctx.error(node, `expected a 4-D NCHW input (a 2-D ${node.opType}), got rank ${x.shape.length} [${x.shape.join(', ')}]`, [
      'modelpress maps 2-D convolutions and pools; 1-D and 3-D ones (Conv1d, Conv3d) are not supported',
    ]);
  }
  return x;
}

/**
 * Pads `x` explicitly (ZeroPadding2D) when `choosePadding` says so; returns
 * the tensor to apply the window to and the tfjs padding mode.
 */
export function padForWindow(
  ctx: ImportContext,
  node: OnnxNode,
  x: SymValue,
  pads: [number, number, number, number],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  created: string[],
  /** Zero-pad even where `same` would pick the same pixels (an average that counts the pads). */
  forceExplicit = false,
): { input: SymValue; padding: 'valid' | 'same'; note: string } {
  let choice = choosePadding(pads, [x.shape[2]!, x.shape[3]!], kernel, stride, dilation);
  if (forceExplicit && choice.kind === 'same') choice = { kind: 'explicit', pads: [[pads[0], pads[2]], [pads[1], pads[3]]] };
  if (choice.kind !== 'explicit') return { input: x, padding: choice.kind, note: choice.kind };
  const name = ctx.layerName(node, 'pad');
  created.push(name);
  const sym = ctx.apply(ctx.tf.layers.zeroPadding2d({ padding: choice.pads, name }), x.sym);
  const [[t, b], [l, r]] = choice.pads;
  const shape = [x.shape[0]!, x.shape[1]!, x.shape[2]! + t + b, x.shape[3]! + l + r];
  return { input: { ...x, sym, shape }, padding: 'valid', note: `ZeroPadding2D [[${t},${b}],[${l},${r}]] + valid` };
}

export function mapConv(ctx: ImportContext, node: OnnxNode): void {
  const x = spatialInput(ctx, node);
  const w = ctx.constant(node, 1, 'the weight');
  if (w.dims.length !== 4) throw ctx.error(node, `expected a 4-D weight [O, I/group, kH, kW], got [${w.dims.join(', ')}]`);
  const [o, ig, kh, kw] = w.dims as [number, number, number, number];
  const bias = ctx.hasInput(node, 2) ? ctx.constant(node, 2, 'the bias') : undefined;
  const group = ctx.int(node, 'group', 1);
  const stride = (ctx.ints(node, 'strides') ?? [1, 1]) as [number, number];
  const dilation = (ctx.ints(node, 'dilations') ?? [1, 1]) as [number, number];
  const cin = x.shape[1]!;
  if (cin !== ig * group) throw ctx.error(node, `the weight expects ${ig * group} input channels (${ig} x group ${group}), the input has ${cin}`);
  if ((dilation[0] > 1 || dilation[1] > 1) && (stride[0] > 1 || stride[1] > 1)) {
    throw ctx.error(node, `dilations [${dilation.join(', ')}] together with strides [${stride.join(', ')}] cannot be expressed: tfjs convolutions take a dilation or a stride above 1, not both`);
  }
  const pads = nodePads(ctx, node, x, [kh, kw], stride, dilation);
  const created: string[] = [];
  const padded = padForWindow(ctx, node, x, pads, [kh, kw], stride, dilation, created);
  const L = ctx.tf.layers;
  const name = ctx.layerName(node);
  created.push(name);
  const useBias = bias !== undefined;
  let kind: string;
  let layer;
  let kernel: Float32Array;
  let kernelShape: number[];
  if (group === 1) {
    kind = 'Conv2D';
    layer = L.conv2d({ filters: o, kernelSize: [kh, kw], strides: stride, dilationRate: dilation, padding: padded.padding, useBias, name });
    kernel = oihwToHwio(w.data as Float32Array, o, ig, kh, kw);
    kernelShape = [kh, kw, ig, o];
  } else if (group === cin && ig === 1 && o % cin === 0) {
    const m = o / cin;
    kind = m === 1 ? 'DepthwiseConv2D' : `DepthwiseConv2D (depth multiplier ${m})`;
    layer = L.depthwiseConv2d({ kernelSize: [kh, kw], depthMultiplier: m, strides: stride, dilationRate: dilation, padding: padded.padding, useBias, name });
    kernel = depthwiseToHwcm(w.data as Float32Array, cin, m, kh, kw);
    kernelShape = [kh, kw, cin, m];
  } else {
    if (o % group !== 0) throw ctx.error(node, `${o} output channels do not divide into ${group} groups`);
    kind = `Conv2D (group ${group} as a block-diagonal kernel)`;
    layer = L.conv2d({ filters: o, kernelSize: [kh, kw], strides: stride, dilationRate: dilation, padding: padded.padding, useBias, name });
    kernel = groupedToHwio(w.data as Float32Array, o, ig, kh, kw, group);
    kernelShape = [kh, kw, cin, o];
  }
  const sym = ctx.apply(layer, padded.input.sym);
  const tf = ctx.tf;
  const weights = [tf.tensor(kernel, kernelShape)];
  if (bias) weights.push(tf.tensor(Float32Array.from(bias.data), [o]));
  layer.setWeights(weights);
  tf.dispose(weights);
  const [ih, iw] = [padded.input.shape[2]!, padded.input.shape[3]!];
  const shape = padded.padding === 'same'
    ? [x.shape[0]!, o, Math.ceil(ih / stride[0]), Math.ceil(iw / stride[1])]
    : [x.shape[0]!, o, windowOut(ih, kh, stride[0], dilation[0], 0, 0), windowOut(iw, kw, stride[1], dilation[1], 0, 0)];
  ctx.values.set(node.outputs[0]!, { kind: 'sym', sym, shape, layout: 'nhwc' });
  ctx.record(node, `${kind} ${name} (${padded.note})`, created);
}
