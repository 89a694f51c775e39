/**
 * MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool -> tfjs pooling.
 * Explicit pads are exact only where the padded value cannot change the
 * result: zeros before an average that counts them (count_include_pad=1),
 * zeros before a max of non-negative values; `same` where TensorFlow's
 * padding is PyTorch's. Anything else is refused rather than approximated.
 */
import type { ImportContext } from './import-context.js';
import { padForWindow, nodePads, spatialInput } from './map-conv.js';
import { choosePadding, windowOut } from './layout.js';
import type { OnnxNode } from './read-model.js';

export function mapPool(ctx: ImportContext, node: OnnxNode): void {
  const x = spatialInput(ctx, node);
  const isMax = node.opType === 'MaxPool';
  const kernel = ctx.ints(node, 'kernel_shape') as [number, number] | undefined;
  if (!kernel || kernel.length !== 2) throw ctx.error(node, `expected kernel_shape with 2 values, got ${JSON.stringify(kernel ?? null)}`);
  const stride = (ctx.ints(node, 'strides') ?? [1, 1]) as [number, number];
  const dilation = (ctx.ints(node, 'dilations') ?? [1, 1]) as [number, number];
  if (dilation.some((d) => d !== 1)) throw ctx.error(node, `dilations [${dilation.join(', ')}] are not supported for pooling: tfjs pools have no dilation`);
  if (isMax && node.outputs.length > 1 && node.outputs[1]) throw ctx.error(node, 'the Indices output of MaxPool is not supported');
  const pads = nodePads(ctx, node, x, kernel, stride, dilation);
  const ceil = ctx.int(node, 'ceil_mode', 0) === 1;
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  const outH = windowOut(h, kernel[0], stride[0], 1, pads[0], pads[2], ceil);
  const outW = windowOut(w, kernel[1], stride[1], 1, pads[1], pads[3], ceil);
  if (ceil && (outH !== windowOut(h, kernel[0], stride[0], 1, pads[0], pads[2]) || outW !== windowOut(w, kernel[1], stride[1], 1, pads[1], pads[3]))) {
    throw ctx.error(node, 'ceil_mode = 1 changes the output size here, and tfjs pools round down', ['use ceil_mode=False in PyTorch, or pad the input so the windows fit']);
  }
  const choice = choosePadding(pads, [h, w], kernel, stride, dilation);
  const countPad = ctx.int(node, 'count_include_pad', 0) === 1;
  if (choice.kind === 'explicit') {
    if (isMax && !x.nonNegative) {
      throw ctx.error(node, `pads [${pads.join(', ')}] differ from TensorFlow's same padding, and zero padding changes a max of values that can be negative`, [
        'put the MaxPool after a ReLU (zero padding is then exact), or use padding that matches',
      ]);
    }
    if (!isMax && !countPad) {
      throw ctx.error(node, `pads [${pads.join(', ')}] with count_include_pad = 0 differ from TensorFlow's same padding, which tfjs average pools exclude`, [
        'export with count_include_pad=True, or padding that matches',
      ]);
    }
  }
  const created: string[] = [];
  // tfjs's `same` average excludes the pads from the count: an average that
  // counts them (count_include_pad = 1) always gets explicit zeros.
  const padded = padForWindow(ctx, node, x, pads, kernel, stride, dilation, created, !isMax && countPad);
  const name = ctx.layerName(node);
  created.push(name);
  const L = ctx.tf.layers;
  const opts = { poolSize: kernel, strides: stride, padding: padded.padding, name };
  const sym = ctx.apply(isMax ? L.maxPooling2d(opts) : L.averagePooling2d(opts), padded.input.sym);
  ctx.values.set(node.outputs[0]!, { kind: 'sym', sym, shape: [x.shape[0]!, x.shape[1]!, outH, outW], layout: 'nhwc', nonNegative: x.nonNegative });
  ctx.record(node, `${isMax ? 'MaxPooling2D' : 'AveragePooling2D'} ${name} (${padded.note})`, created);
}

export function mapGlobalPool(ctx: ImportContext, node: OnnxNode): void {
  const x = spatialInput(ctx, node);
  const isMax = node.opType === 'GlobalMaxPool';
  const L = ctx.tf.layers;
  const name = ctx.layerName(node);
  const c = x.shape[1]!;
  const pooled = ctx.apply(isMax ? L.globalMaxPooling2d({ name }) : L.globalAveragePooling2d({ name }), x.sym);
  // ONNX keeps [N, C, 1, 1]; a Reshape keeps the tfjs twin 4-D too, so the
  // Flatten, Reshape or Conv that follows sees the rank ONNX promises.
  const rname = ctx.layerName(node, 'keepdims');
  const sym = ctx.apply(L.reshape({ targetShape: [1, 1, c], name: rname }), pooled);
  ctx.values.set(node.outputs[0]!, { kind: 'sym', sym, shape: [x.shape[0]!, c, 1, 1], layout: 'nhwc', nonNegative: x.nonNegative });
  ctx.record(node, `${isMax ? 'GlobalMaxPooling2D' : 'GlobalAveragePooling2D'} ${name} + Reshape ${rname} (keeps [N,1,1,C])`, [name, rname]);
}
