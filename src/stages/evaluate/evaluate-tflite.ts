/**
 * `runtime: tflite` devices and the `size_tflite_kb` / `size_tflite_gzip_kb`
 * budgets: each candidate converted once to a full-integer int8 .tflite file
 * (float32 I/O, calibrated on up to CALIBRATION_SAMPLES seeded examples of
 * the evaluation data), its raw and gzip sizes, and its latency in the real
 * TFLite interpreter (one Chromium for the whole evaluate node, one page
 * per thread count). A candidate the exporter cannot express gets no file:
 * its sizes and latency are "not measured" with the exporter's reason.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { TfliteSession } from '../../browser/tflite-session.js';
import { measureTfliteLatency } from '../../browser/tflite-latency.js';
import type { TfliteLatencyResult } from '../../browser/tflite-latency.js';
import type { Dataset } from '../../data/dataset.js';
import { permutation, seededRandom } from '../../data/dataset.js';
import { exportTflite } from '../../formats/tflite/export-tflite.js';
import { TfliteExportError } from '../../formats/tflite/tflite-error.js';
import { compressedSizes } from '../../measure/size.js';
import type { LatencyRunOptions } from '../../measure/latency-stats.js';
import type { StageContext } from '../../plugin.js';

/** Calibration examples taken from the evaluation data. */
export const CALIBRATION_SAMPLES = 256;

export class TfliteMeasurements {
  private session: Promise<TfliteSession> | undefined;
  private readonly files = new Map<string, { bytes: Uint8Array } | { refusal: string }>();
  private readonly calibration: Float32Array[];

  constructor(
    private readonly ctx: StageContext,
    data: Dataset,
  ) {
    const per = data.shape.reduce((a, b) => a * b, 1);
    const chosen = permutation(data.count, seededRandom(ctx.seed + 5)).slice(0, Math.min(CALIBRATION_SAMPLES, data.count));
    this.calibration = Array.from(chosen, (i) => data.x.subarray(i * per, (i + 1) * per));
  }

  /** Converts candidate `node`'s model; its .tflite sizes in bytes, or undefined when the exporter cannot express it. */
  async convert(node: string, model: LayersModel): Promise<{ tflite: number; tfliteGzip: number } | undefined> {
    try {
      const { bytes } = exportTflite(model, { quantize: 'int8', io: 'float32', calibration: this.calibration });
      this.files.set(node, { bytes });
      return { tflite: bytes.length, tfliteGzip: (await compressedSizes(bytes)).gzip };
    } catch (error) {
      if (!(error instanceof TfliteExportError)) throw error;
      this.ctx.logger.warn(`${node}: no .tflite file: ${error.message}`);
      this.files.set(node, { refusal: `no .tflite file (${error.message})` });
      return undefined;
    }
  }

  /** Why candidate `node` cannot become a .tflite file; undefined when it was converted (or never tried). */
  refusal(node: string): string | undefined {
    const file = this.files.get(node);
    return file && 'refusal' in file ? file.refusal : undefined;
  }

  /** Latency of candidate `node`'s .tflite file with `threads` interpreter threads. */
  async measure(node: string, threads: number, options: LatencyRunOptions): Promise<{ result: TfliteLatencyResult } | { note: string }> {
    const file = this.files.get(node);
    if (!file) return { note: 'not measured: no .tflite file' };
    if ('refusal' in file) return { note: `not measured: ${file.refusal}` };
    this.session ??= TfliteSession.open();
    const session = await this.session;
    return { result: await measureTfliteLatency(session, file.bytes, { ...options, threads, signal: this.ctx.signal }) };
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await (await s.catch(() => undefined))?.close();
  }
}
