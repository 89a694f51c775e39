/**
 * The `augment:` option of the stages that train (train, and the `finetune:`
 * of prune / share / quantize): its schema and the batch transform it makes.
 * The pixel work is src/data/augment.ts; this file checks the option against
 * the dataset and turns a mismatch into a located recipe error.
 */
import type { Dataset } from '../../data/dataset.js';
import { seededRandom } from '../../data/dataset.js';
import { imageGeometry, shiftImages } from '../../data/augment.js';
import { StageConfigError } from '../../stage-definition.js';

export interface AugmentConfig {
  shift: number;
}

// No default object anywhere it is used: recipes without `augment` keep their cache keys.
export const augmentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['shift'],
  description: 'Training-time augmentation of image examples (validation and eval data are never augmented).',
  properties: {
    shift: {
      type: 'integer',
      minimum: 0,
      maximum: 16,
      description: 'Translate each training image by a random (dy, dx), each in [-shift, shift] pixels, zero-filled (Hinton et al. jittered MNIST by up to 2).',
    },
  },
} as const;

/**
 * The batch transform for `augment`, or undefined when there is none.
 * `at` is the option's path in the stage's `with:` (for the located error),
 * `seed` the stream's seed (its own, so turning augmentation on leaves the
 * shuffling order alone).
 */
export function augmentation(
  augment: AugmentConfig | undefined,
  data: Dataset,
  dataName: string,
  seed: number,
  at: string[] = ['augment'],
): ((x: Float32Array, count: number) => void) | undefined {
  const shift = augment?.shift ?? 0;
  if (shift === 0) return undefined;
  const where = [...at, 'shift'];
  const geometry = imageGeometry(data.shape);
  if (!geometry) {
    throw new StageConfigError(
      `${where.join('.')} needs image examples ([h, w, c], [h, w] or a flattened square image), but \`${dataName}\` has examples shaped [${data.shape.join(', ')}]`,
      where,
    );
  }
  const side = Math.min(geometry.height, geometry.width);
  if (shift >= side) {
    throw new StageConfigError(`${where.join('.')} ${shift} would move ${geometry.height}x${geometry.width} images entirely out of frame: use a shift below ${side}`, where);
  }
  const random = seededRandom(seed);
  return (x, count) => shiftImages(x, count, geometry, shift, random);
}
