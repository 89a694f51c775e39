/**
 * `export` with `format: tflite`: the upstream model as `model.tflite`
 * (src/formats/tflite/), float32 or full-integer int8 calibrated on a
 * recipe dataset. An unsupported layer is a StageConfigError located at
 * `format`, raised before any file is written.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { permutation, seededRandom } from '../../data/dataset.js';
import { exportTflite } from '../../formats/tflite/export-tflite.js';
import type { TfliteExport } from '../../formats/tflite/export-tflite.js';
import { TfliteExportError } from '../../formats/tflite/tflite-error.js';
import type { StageContext } from '../../plugin.js';
import { StageConfigError } from '../../plugin.js';

export const TFLITE_FILENAME = 'model.tflite';

/** `export.with.tflite`. */
export interface TfliteConfig {
  quantize: 'int8' | 'float32';
  io: 'int8' | 'float32';
  calibration?: { data: string; samples: number; method: 'minmax' | 'percentile'; percentile: number };
}

export const tfliteSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Options of `format: tflite` (docs/tflite.md).',
  properties: {
    quantize: { enum: ['int8', 'float32'], default: 'int8', description: '`int8`: full-integer quantization per the TFLite spec (needs `calibration`); `float32`: as trained.' },
    io: { enum: ['int8', 'float32'], default: 'float32', description: 'dtype of the int8 model\'s input and output: `float32` adds QUANTIZE / DEQUANTIZE at the boundary; `int8` makes the caller quantize.' },
    calibration: {
      type: 'object',
      additionalProperties: false,
      required: ['data'],
      description: 'The dataset whose examples calibrate activation ranges (int8).',
      properties: {
        data: { type: 'string', minLength: 1, description: 'A dataset of the recipe\'s `data:`.' },
        samples: { type: 'integer', minimum: 1, default: 256, description: 'Examples used (a seeded subset).' },
        method: { enum: ['minmax', 'percentile'], default: 'minmax', description: '`minmax`: the observed range; `percentile`: the percentile / 100 - percentile quantiles.' },
        percentile: { type: 'number', exclusiveMinimum: 50, maximum: 100, default: 99.99, description: 'For `method: percentile`.' },
      },
    },
  },
} as const;

/** Converts `model` as `config` says; throws StageConfigError (located at `format` or `tflite`) for what cannot be exported. */
export async function convertForExport(ctx: StageContext, model: LayersModel, config: TfliteConfig): Promise<TfliteExport> {
  let calibration: Float32Array[] | undefined;
  if (config.quantize === 'int8') {
    if (!config.calibration) {
      throw new StageConfigError('`tflite.calibration` is required for `quantize: int8`', ['tflite'], [
        'name a dataset of the recipe to calibrate activation ranges on, e.g. `tflite: { calibration: { data: train } }`, or set `quantize: float32`',
      ]);
    }
    const data = await ctx.data(config.calibration.data);
    const per = data.shape.reduce((a, b) => a * b, 1);
    const chosen = permutation(data.count, seededRandom(ctx.seed + 5)).slice(0, Math.min(config.calibration.samples, data.count));
    calibration = Array.from(chosen, (i) => data.x.subarray(i * per, (i + 1) * per));
  }
  try {
    return exportTflite(model, {
      quantize: config.quantize,
      io: config.io,
      ...(calibration ? { calibration } : {}),
      ...(config.calibration ? { method: config.calibration.method, percentile: config.calibration.percentile } : {}),
      description: `modelpress ${ctx.stageId}`,
    });
  } catch (error) {
    if (error instanceof TfliteExportError) throw new StageConfigError(`\`format: tflite\`: ${error.message}`, ['format'], error.hints);
    throw error;
  }
}
