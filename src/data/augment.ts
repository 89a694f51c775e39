/**
 * Training-time augmentation on a batch's raw inputs, before they become a
 * tensor. One transform so far: random translation ("jitter"), what Hinton et
 * al. (2015) used for their MNIST teacher ("input images were jittered by up
 * to two pixels in any direction"). Done in plain JS on the batch copy: a
 * 128 x 784 batch is ~100k moves, negligible next to a training step, and it
 * keeps the shifts seeded (tfjs random ops are not per-call seedable).
 */

/** Height, width and channels of one image example. */
export interface ImageGeometry {
  height: number;
  width: number;
  channels: number;
}

/**
 * The image geometry of examples shaped `shape`: [h, w, c], [h, w], or a flat
 * [n] with n a perfect square (a flattened one-channel image, e.g. MNIST's
 * 784). Null when the shape is not an image.
 */
export function imageGeometry(shape: readonly number[]): ImageGeometry | null {
  if (shape.length === 3) return { height: shape[0]!, width: shape[1]!, channels: shape[2]! };
  if (shape.length === 2) return { height: shape[0]!, width: shape[1]!, channels: 1 };
  if (shape.length === 1) {
    const side = Math.round(Math.sqrt(shape[0]!));
    if (side > 1 && side * side === shape[0]) return { height: side, width: side, channels: 1 };
  }
  return null;
}

/**
 * Shifts each of the `count` images in `x` (row-major, channels last) by its
 * own random (dy, dx), each uniform in [-maxShift, maxShift], filling the
 * uncovered border with 0. In place. `random` returns [0, 1).
 */
export function shiftImages(x: Float32Array, count: number, g: ImageGeometry, maxShift: number, random: () => number): void {
  const { height: h, width: w, channels: c } = g;
  const size = h * w * c;
  const row = w * c;
  const scratch = new Float32Array(size);
  for (let n = 0; n < count; n++) {
    const dy = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
    const dx = Math.floor(random() * (2 * maxShift + 1)) - maxShift;
    if (dy === 0 && dx === 0) continue;
    const image = x.subarray(n * size, (n + 1) * size);
    scratch.fill(0);
    // Destination row y takes source row y - dy; columns likewise.
    const x0 = Math.max(0, dx);
    const x1 = Math.min(w, w + dx);
    for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
      const src = (y - dy) * row + (x0 - dx) * c;
      scratch.set(image.subarray(src, src + (x1 - x0) * c), y * row + x0 * c);
    }
    image.set(scratch);
  }
}
