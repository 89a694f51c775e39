/**
 * Resizing images to a model's input, on plain typed arrays (HWC, channels
 * interleaved): decoding and resizing happen in the loader, before any
 * engine exists, and a cached image must not depend on the backend.
 *
 * Resampling is separable (rows, then columns) and per axis:
 * - enlarging (or equal size): bilinear with half-pixel centres, source
 *   coordinate `(i + 0.5) * in / out - 0.5` clamped to the edge (what
 *   tf.image.resizeBilinear does with halfPixelCenters, and PIL's bilinear
 *   when enlarging);
 * - shrinking: area averaging, each output pixel the mean of the source
 *   pixels it covers, weighted by overlap. Bilinear alone would skip source
 *   pixels when shrinking by more than 2x and alias (a 224-pixel photo of a
 *   striped shirt turns into moire at 32 pixels).
 *
 * Fitting modes (`resize:` of the loader):
 * - `crop` (default): scale so the shorter side fits, then cut the centre
 *   (the torchvision `Resize(s) + CenterCrop(s)` recipe most pretrained
 *   image models were evaluated with);
 * - `stretch`: scale each axis to fit, aspect ratio not kept;
 * - `pad`: scale so the longer side fits, centre the image, fill the rest
 *   with 0 (before normalisation: black).
 */

export type ResizeMode = 'crop' | 'stretch' | 'pad';

/** An image as floats: `height * width * channels` values, HWC. */
export interface FloatImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

interface Tap {
  /** Source indices and their weights (summing to 1). */
  index: number[];
  weight: number[];
}

/** For each of `out` output positions on one axis: which of `inp` source positions contribute, and how much. */
export function axisTaps(inp: number, out: number): Tap[] {
  const taps: Tap[] = [];
  const ratio = inp / out;
  for (let i = 0; i < out; i++) {
    if (out >= inp) {
      const src = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), inp - 1);
      const i0 = Math.floor(src);
      const f = src - i0;
      taps.push(f > 0 ? { index: [i0, i0 + 1], weight: [1 - f, f] } : { index: [i0], weight: [1] });
    } else {
      const lo = i * ratio;
      const hi = (i + 1) * ratio;
      const tap: Tap = { index: [], weight: [] };
      for (let s = Math.floor(lo); s < Math.min(Math.ceil(hi), inp); s++) {
        const overlap = Math.min(hi, s + 1) - Math.max(lo, s);
        if (overlap > 1e-9) {
          tap.index.push(s);
          tap.weight.push(overlap / ratio);
        }
      }
      taps.push(tap);
    }
  }
  return taps;
}

/**
 * Taps as flat typed arrays (the sources of one output are consecutive, so
 * a start index and weights suffice): the inner loops then touch no objects,
 * which made resizing 256x256 RGB to 224x224 several times faster than
 * walking `Tap` objects.
 */
interface FlatTaps {
  start: Int32Array;
  count: Int32Array;
  /** `width` weights per output, zero-padded. */
  weights: Float64Array;
  width: number;
}

function flatTaps(inp: number, out: number): FlatTaps {
  const taps = axisTaps(inp, out);
  const width = Math.max(...taps.map((t) => t.index.length));
  const flat: FlatTaps = { start: new Int32Array(out), count: new Int32Array(out), weights: new Float64Array(out * width), width };
  taps.forEach((t, i) => {
    flat.start[i] = t.index[0]!;
    flat.count[i] = t.index.length;
    t.weight.forEach((w, k) => (flat.weights[i * width + k] = w));
  });
  return flat;
}

/** Resamples `img` to exactly `height` x `width` (see the module comment for the filter). */
export function resizeImage(img: FloatImage, height: number, width: number): FloatImage {
  const c = img.channels;
  if (img.height === height && img.width === width) return { ...img, data: img.data.slice() };
  const src = img.data;
  // Columns first: the intermediate is img.height x width.
  const xt = flatTaps(img.width, width);
  const mid = new Float32Array(img.height * width * c);
  for (let y = 0; y < img.height; y++) {
    const rowIn = y * img.width * c;
    const rowOut = y * width * c;
    for (let x = 0; x < width; x++) {
      const s0 = rowIn + xt.start[x]! * c;
      const n = xt.count[x]!;
      const w0 = x * xt.width;
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += xt.weights[w0 + k]! * src[s0 + k * c + ch]!;
        mid[rowOut + x * c + ch] = v;
      }
    }
  }
  const yt = flatTaps(img.height, height);
  const out = new Float32Array(height * width * c);
  const stride = width * c;
  for (let y = 0; y < height; y++) {
    const s0 = yt.start[y]! * stride;
    const n = yt.count[y]!;
    const w0 = y * yt.width;
    const rowOut = y * stride;
    // Whole rows at a time: each source row is read contiguously.
    for (let k = 0; k < n; k++) {
      const w = yt.weights[w0 + k]!;
      const rowIn = s0 + k * stride;
      for (let i = 0; i < stride; i++) out[rowOut + i]! += w * mid[rowIn + i]!;
    }
  }
  return { width, height, channels: c, data: out };
}

/** Copies the `height` x `width` window at (`top`, `left`) into a new image; outside the source is 0. */
export function placeWindow(img: FloatImage, top: number, left: number, height: number, width: number): FloatImage {
  const c = img.channels;
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      for (let ch = 0; ch < c; ch++) out[(y * width + x) * c + ch] = img.data[(sy * img.width + sx) * c + ch]!;
    }
  }
  return { width, height, channels: c, data: out };
}

/** Fits `img` to `height` x `width` with `mode`. */
export function fitImage(img: FloatImage, height: number, width: number, mode: ResizeMode): FloatImage {
  if (mode === 'stretch') return resizeImage(img, height, width);
  const sy = height / img.height;
  const sx = width / img.width;
  const s = mode === 'crop' ? Math.max(sy, sx) : Math.min(sy, sx);
  // One side matches exactly; the other is rounded to whole pixels, never
  // past the target on the side that must fit (float error could say 9.999...).
  const clampSide = mode === 'crop' ? Math.max : Math.min;
  const h = sy === s ? height : clampSide(height, Math.max(1, Math.round(img.height * s)));
  const w = sx === s ? width : clampSide(width, Math.max(1, Math.round(img.width * s)));
  const scaled = resizeImage(img, h, w);
  // Centre: crop cuts floor(extra / 2) from the top/left; pad puts the image
  // floor(room / 2) from the top/left (negative window offset).
  const offset = (have: number, want: number) => (have >= want ? Math.floor((have - want) / 2) : -Math.floor((want - have) / 2));
  return placeWindow(scaled, offset(h, height), offset(w, width), height, width);
}
