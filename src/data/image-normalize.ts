/**
 * From resized pixels (0..255, HWC, RGB or grey) to the values a
 * model expects: normalisation preset, channel order, memory layout.
 *
 * Presets (the ones pretrained models are published with):
 * - `unit`: v / 255, into [0, 1] (tfjs and Keras models trained on rescaled
 *   inputs);
 * - `symmetric`: v / 127.5 - 1, into [-1, 1] (MobileNet, Inception: Keras
 *   `preprocess_input` in "tf" mode);
 * - `imagenet`: (v / 255 - mean) / std with mean [0.485, 0.456, 0.406] and
 *   std [0.229, 0.224, 0.225] (torchvision models); a grey image uses the
 *   averages, 0.449 and 0.226;
 * - `{ mean, std }`: the same formula with your numbers, on the [0, 1]
 *   scale like torchvision's `Normalize`; one number for every channel, or
 *   one per channel in RGB order.
 *
 * Mean and std are always given in RGB order; `channelOrder: bgr` reverses
 * the channels after normalising (Caffe-era models read BGR).
 */

export type NormalizePreset = 'unit' | 'symmetric' | 'imagenet';
export interface MeanStd {
  mean: number[];
  std: number[];
}
export type ImageNormalize = NormalizePreset | MeanStd;
export type ChannelOrder = 'rgb' | 'bgr';
export type ImageLayout = 'nhwc' | 'nchw';

const IMAGENET: MeanStd = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Per channel: `value = pixel * scale[c] + shift[c]`, pixel in 0..255. */
export interface ChannelAffine {
  scale: number[];
  shift: number[];
}

/**
 * The per-channel affine map of `normalize` for `channels` channels. Throws
 * a TypeError ("Expected ...") for a mean/std list of the wrong length or a
 * std of 0; the loader checks options with this before reading any file.
 */
export function channelAffine(normalize: ImageNormalize, channels: 1 | 3): ChannelAffine {
  if (normalize === 'unit') return { scale: Array(channels).fill(1 / 255), shift: Array(channels).fill(0) };
  if (normalize === 'symmetric') return { scale: Array(channels).fill(1 / 127.5), shift: Array(channels).fill(-1) };
  let ms = normalize === 'imagenet' ? IMAGENET : normalize;
  if (normalize === 'imagenet' && channels === 1) ms = { mean: [0.449], std: [0.226] };
  const pick = (list: number[], what: string): number[] => {
    if (list.length === channels) return list;
    if (list.length === 1) return Array(channels).fill(list[0]);
    throw new TypeError(`Expected normalize.${what} to have ${channels === 1 ? '1 value' : `1 or ${channels} values`} (channels: ${channels}), got ${list.length}`);
  };
  const mean = pick(ms.mean, 'mean');
  const std = pick(ms.std, 'std');
  std.forEach((s) => {
    if (!(s > 0)) throw new TypeError(`Expected every normalize.std value to be > 0, got ${s}`);
  });
  return { scale: std.map((s) => 1 / (255 * s)), shift: mean.map((m, c) => -m / std[c]!) };
}

/**
 * Writes one image (`pixels`: HWC, 0..255) into `out` at `offset`,
 * normalised, in `order` and `layout`.
 */
export function writeExample(
  pixels: ArrayLike<number>,
  height: number,
  width: number,
  channels: number,
  affine: ChannelAffine,
  order: ChannelOrder,
  layout: ImageLayout,
  out: Float32Array,
  offset: number,
): void {
  const plane = height * width;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) {
      const v = pixels[p * channels + c]! * affine.scale[c]! + affine.shift[c]!;
      const oc = order === 'bgr' ? channels - 1 - c : c;
      out[offset + (layout === 'nhwc' ? p * channels + oc : oc * plane + p)] = v;
    }
  }
}
