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
import type { Json, StageContext } from '../../plugin.js';
import { verifyInInterpreter } from './export-tflite-verify.js';
import { StageConfigError } from '../../plugin.js';

export const TFLITE_FILENAME = 'model.tflite';

/** `export.with.tflite`. */
export interface TfliteConfig {
  quantize: 'int8' | 'float32';
  io: 'int8' | 'float32';
  calibration?: { data: string; samples: number; method: 'minmax' | 'percentile'; percentile: number };
  verify?: { data: string; samples?: number; threads: number };
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
    verify: {
      type: 'object',
      additionalProperties: false,
      required: ['data'],
      description: 'Run the file in the real TFLite interpreter (headless Chromium) on a dataset: accuracy, and agreement with modelpress\'s int8 simulation (argmax, quantization steps). Needs Chromium.',
      properties: {
        data: { type: 'string', minLength: 1, description: 'A labelled dataset of the recipe\'s `data:`.' },
        samples: { type: 'integer', minimum: 1, description: 'Examples used (the first ones). Default: all.' },
        threads: { type: 'integer', minimum: 1, default: 1, description: 'Interpreter threads.' },
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

/** `tflite.verify` as a Json record for the card and metrics (undefined when not asked for). */
export async function verifyForExport(ctx: StageContext, exported: TfliteExport, config: TfliteConfig): Promise<Json | undefined> {
  const v = config.verify;
  if (!v) return undefined;
  const data = await ctx.data(v.data);
  const result = await verifyInInterpreter(exported, data, { ...(v.samples !== undefined ? { samples: v.samples } : {}), threads: v.threads });
  const e = result.exported;
  ctx.logger.info(
    `export: TFLite interpreter on ${e.examples} ${v.data} examples: accuracy ${e.runtimeAccuracy.toFixed(2)}%` +
      (result.accuracyDropPp !== undefined ? ` (${result.accuracyDropPp.toFixed(2)} pp below float32)` : '') +
      `, argmax agreement with the simulation ${e.argmaxAgreementPct.toFixed(2)}%, max difference ${e.maxDiffSteps.toFixed(2)} step(s)`,
  );
  return JSON.parse(JSON.stringify(result)) as Json;
}
