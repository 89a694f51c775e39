/**
 * NCHW (ONNX, PyTorch) to NHWC (tfjs) layout arithmetic: weight transposes,
 * the row permutation of a Dense that follows a Flatten, axis mapping, and
 * PyTorch's explicit symmetric padding expressed as tfjs padding.
 */

/** Conv weights OIHW -> HWIO (tfjs Conv2D kernel). */
export function oihwToHwio(w: Float32Array, o: number, i: number, h: number, wd: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let oc = 0; oc < o; oc++)
    for (let ic = 0; ic < i; ic++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < wd; x++) out[((y * wd + x) * i + ic) * o + oc] = w[((oc * i + ic) * h + y) * wd + x]!;
  return out;
}

/**
 * Grouped conv weights [O, I/g, H, W] -> a full HWIO kernel that is zero
 * outside each group's block: tfjs layers have no grouped Conv2D, and a
 * block-diagonal kernel computes exactly the grouped convolution.
 */
export function groupedToHwio(w: Float32Array, o: number, ig: number, h: number, wd: number, groups: number): Float32Array {
  const i = ig * groups;
  const og = o / groups;
  const out = new Float32Array(h * wd * i * o);
  for (let oc = 0; oc < o; oc++) {
    const g = Math.floor(oc / og);
    for (let k = 0; k < ig; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < wd; x++) out[((y * wd + x) * i + g * ig + k) * o + oc] = w[((oc * ig + k) * h + y) * wd + x]!;
  }
  return out;
}

/**
 * Depthwise weights [C*m, 1, H, W] -> tfjs DepthwiseConv2D [H, W, C, m].
 * ONNX output channel c*m + j and tfjs output channel c*m + j are the same.
 */
export function depthwiseToHwcm(w: Float32Array, c: number, m: number, h: number, wd: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ch = 0; ch < c; ch++)
    for (let j = 0; j < m; j++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < wd; x++) out[((y * wd + x) * c + ch) * m + j] = w[((ch * m + j) * h + y) * wd + x]!;
  return out;
}

/**
 * A Dense kernel [C*H*W, out] whose rows follow ONNX's flatten order
 * (c, h, w), reordered to the order tfjs's Flatten of an NHWC tensor gives
 * (h, w, c). Permuting the rows once at import replaces a transpose at every
 * inference.
 */
export function chwRowsToHwc(kernel: Float32Array, c: number, h: number, w: number, out: number): Float32Array {
  const res = new Float32Array(kernel.length);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const src = (ch * h + y) * w + x;
        const dst = (y * w + x) * c + ch;
        res.set(kernel.subarray(src * out, (src + 1) * out), dst * out);
      }
  return res;
}

/** ONNX axis of an NCHW tensor -> the tfjs axis of its NHWC twin. */
export function nchwAxisToNhwc(axis: number): number {
  return [0, 3, 1, 2][axis]!;
}

export interface Padding2d {
  /** [[top, bottom], [left, right]] */
  pads: [[number, number], [number, number]];
}

/** What tfjs's `same` pads for one spatial dimension (TensorFlow's rule: the extra pixel goes after). */
export function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const eff = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + eff - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Output size of a convolution or pooling window with explicit padding (floor mode). */
export function windowOut(size: number, kernel: number, stride: number, dilation: number, before: number, after: number, ceil = false): number {
  const eff = (kernel - 1) * dilation + 1;
  const r = (size + before + after - eff) / stride;
  return (ceil ? Math.ceil(r) : Math.floor(r)) + 1;
}

/**
 * The tfjs way to pad: `valid` (no pads), `same` (pads equal to what
 * TensorFlow's same would add), or explicit ZeroPadding2D then `valid`:
 * PyTorch pads symmetrically, `same` puts the odd pixel after, so using
 * `same` where the two differ would shift the output by one pixel.
 */
export function choosePadding(
  pads: [number, number, number, number],
  size: [number, number],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
): { kind: 'valid' } | { kind: 'same' } | { kind: 'explicit'; pads: [[number, number], [number, number]] } {
  const [t, l, b, r] = pads;
  if (t === 0 && l === 0 && b === 0 && r === 0) return { kind: 'valid' };
  const sh = samePads(size[0], kernel[0], stride[0], dilation[0]);
  const sw = samePads(size[1], kernel[1], stride[1], dilation[1]);
  if (sh[0] === t && sh[1] === b && sw[0] === l && sw[1] === r) return { kind: 'same' };
  return { kind: 'explicit', pads: [[t, b], [l, r]] };
}
