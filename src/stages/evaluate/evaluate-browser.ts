/**
 * The `runtime: browser` devices of the evaluate stage: latency measured in
 * headless Chromium (src/browser/), and output parity of the browser against
 * Node for the stock tfjs artifact and for the packed container loaded
 * through modelpress/loader.
 *
 * One BrowserSession (one Chromium, one 127.0.0.1 server) per evaluate node,
 * opened on first use and closed by the stage; one page per backend +
 * threads, shared by all candidates. A browser that is not installed fails
 * the stage (BrowserUnavailableError, with the install hint); a backend the
 * browser cannot start (or a page failure) makes that device "not measured"
 * with the reason, like a Node runtime that is not installed.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { exampleSize } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import { BrowserRuntimeError } from '../../browser/browser-error.js';
import { measureBrowserLatency } from '../../browser/browser-latency.js';
import type { BrowserLatencyResult } from '../../browser/browser-latency.js';
import type { MeasurementPage } from '../../browser/measurement-page.js';
import type { BrowserBackend, PageTensor } from '../../browser/page-protocol.js';
import { compareOutputs, formatDiff, PARITY_EXAMPLES, toleranceFor } from '../../browser/parity.js';
import type { HostTensor, OutputParity } from '../../browser/parity.js';
import { BrowserSession } from '../../browser/session.js';
import type { ServedModel } from '../../browser/session.js';
import type { StageContext } from '../../plugin.js';
import { withVerdict } from '../../contracts/budget.js';
import type { DeviceVerdict, Verdict } from '../../contracts/budget.js';
import type { Json } from '../../plugin.js';

/** The batch parity is checked on, and Node's outputs for it. */
export interface ParityBatch {
  examples: number;
  inputs: PageTensor[];
}

export interface ParityReport {
  examples: number;
  /** The effective tolerance on max |difference| (PARITY_TOLERANCE[backend] x output scale). */
  tolerance: number;
  tfjs: OutputParity | { note: string };
  packed: OutputParity | { note: string };
  /** Both comparisons ok; null when either could not be made. */
  ok: boolean | null;
}

export interface BrowserDeviceSpec {
  backend: BrowserBackend;
  threads: number;
  batch: number;
}

export interface LatencySettings {
  /** False: parity only (latency.measure never / budgeted without a latency limit); the note says why. */
  skip?: string;
  warmup: number;
  minRuns: number;
  maxRuns: number;
  maxSeconds: number;
}

export interface BrowserOutcome {
  latency: { result: BrowserLatencyResult } | { note: string };
  parity: ParityReport;
}

/** The first PARITY_EXAMPLES examples of `ds`, as the page's input. */
export function parityBatch(ds: Dataset): ParityBatch {
  const examples = Math.min(PARITY_EXAMPLES, ds.count);
  const size = exampleSize(ds);
  const values = Array.from(ds.x.subarray(0, examples * size));
  return { examples, inputs: [{ shape: [examples, ...ds.shape], dtype: 'float32', values }] };
}

/** Node's outputs of `model` for `batch` (on the stage's engine backend). */
export function nodeOutputs(tf: Tf, model: LayersModel, batch: ParityBatch): HostTensor[] {
  const xs = batch.inputs.map((t) => tf.tensor(t.values, t.shape, t.dtype));
  try {
    const out = model.predict(xs.length === 1 ? xs[0]! : xs);
    const outs: Tensor[] = Array.isArray(out) ? out : [out];
    const host = outs.map((o) => ({ shape: [...o.shape], values: Float32Array.from(o.dataSync()) }));
    tf.dispose(outs);
    return host;
  } finally {
    tf.dispose(xs);
  }
}

export class BrowserMeasurements {
  private session: Promise<BrowserSession> | undefined;
  private readonly served = new Map<string, Promise<ServedModel>>();

  constructor(private readonly ctx: StageContext) {}

  /**
   * Latency and parity of the candidate `node` (model directory `dir`, packed
   * bytes `packed`) on a browser device. Throws BrowserUnavailableError when
   * Chromium is missing; other browser problems become notes.
   */
  async measure(
    node: string,
    dir: string,
    packed: Uint8Array,
    parity: { batch: ParityBatch; reference: HostTensor[] },
    device: BrowserDeviceSpec,
    latency: LatencySettings,
  ): Promise<BrowserOutcome> {
    const session = await (this.session ??= BrowserSession.open());
    let served = this.served.get(node);
    if (!served) {
      served = session.serveModel(dir, packed);
      this.served.set(node, served);
    }
    const model = await served;
    const tolerance = toleranceFor(device.backend, parity.reference);
    const notMeasured = (note: string): BrowserOutcome => ({
      latency: { note },
      parity: { examples: parity.batch.examples, tolerance, tfjs: { note }, packed: { note }, ok: null },
    });

    let page: MeasurementPage;
    try {
      page = await session.page(device.backend, device.threads);
    } catch (error) {
      if (!(error instanceof BrowserRuntimeError)) throw error;
      this.ctx.logger.warn(`browser ${device.backend}: not measured: ${error.message}`);
      return notMeasured(`not measured: ${error.message}`);
    }

    const tfjsId = `${model.id}-tfjs`;
    const packedId = `${model.id}-packed`;
    try {
      let latencyOutcome: BrowserOutcome['latency'];
      if (latency.skip) {
        latencyOutcome = { note: latency.skip };
      } else {
        try {
          const result = await measureBrowserLatency(page, tfjsId, model.tfjsUrl, session.version(), {
            batch: device.batch,
            warmup: latency.warmup,
            minRuns: Math.min(latency.minRuns, latency.maxRuns),
            maxRuns: latency.maxRuns,
            maxSeconds: latency.maxSeconds,
            seed: this.ctx.seed,
            signal: this.ctx.signal,
          });
          latencyOutcome = { result };
        } catch (error) {
          if (!(error instanceof BrowserRuntimeError)) throw error;
          this.ctx.logger.warn(`browser latency of ${node} (${device.backend}) not measured: ${error.message}`);
          latencyOutcome = { note: `not measured: ${error.message}` };
        }
      }
      const compare = async (id: string, kind: 'tfjs' | 'packed', url: string | null): Promise<OutputParity | { note: string }> => {
        if (url === null) return { note: 'not measured: no packed bytes' };
        try {
          if (kind === 'packed' || 'note' in latencyOutcome) await page.call('load', id, { kind, url });
          const outputs = await page.call('predict', id, parity.batch.inputs);
          return compareOutputs(parity.reference, outputs, parity.batch.examples, tolerance);
        } catch (error) {
          if (!(error instanceof BrowserRuntimeError)) throw error;
          return { note: `not measured: ${error.message}` };
        }
      };
      const tfjs = await compare(tfjsId, 'tfjs', model.tfjsUrl);
      const packedParity = await compare(packedId, 'packed', model.packedUrl);
      const ok = 'note' in tfjs || 'note' in packedParity ? null : tfjs.ok && packedParity.ok;
      return { latency: latencyOutcome, parity: { examples: parity.batch.examples, tolerance, tfjs, packed: packedParity, ok } };
    } finally {
      await page.call('dispose', tfjsId).catch(() => undefined);
      await page.call('dispose', packedId).catch(() => undefined);
    }
  }

  /** Stops serving the candidate's files (its measurements are done). */
  async release(node: string): Promise<void> {
    const served = this.served.get(node);
    this.served.delete(node);
    if (served) (await served.catch(() => undefined))?.release();
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await (await s.catch(() => undefined))?.close();
  }
}

/** The parity verdict in words: `tfjs argmax 32/32, max |diff| 2e-7; packed argmax 32/32, max |diff| 2e-7 (tolerance 1e-5)`. */
export function parityText(p: ParityReport): string {
  const one = (name: string, r: OutputParity | { note: string }): string =>
    'note' in r ? `${name} ${r.note}` : `${name} argmax ${r.argmaxMatches}/${p.examples}, max |diff| ${formatDiff(r.maxAbsDiff)}`;
  return `${one('tfjs', p.tfjs)}; ${one('packed', p.packed)} (tolerance ${formatDiff(p.tolerance)})`;
}

/** `d` with the parity check added as a verdict: a failed parity fails the device. */
/** `p` as JSON for the contract's `parity` (the verdict itself goes into the device verdicts). */
export function parityJson(p: ParityReport): Record<string, Json> {
  const side = (r: OutputParity | { note: string }): Json => ('note' in r ? { note: r.note } : { argmaxMatches: r.argmaxMatches, maxAbsDiff: r.maxAbsDiff, ok: r.ok });
  return { examples: p.examples, tolerance: p.tolerance, tfjs: side(p.tfjs), packed: side(p.packed), ok: p.ok };
}

export function withParity(d: DeviceVerdict, p: ParityReport): DeviceVerdict {
  const diffs = [p.tfjs, p.packed].filter((r): r is OutputParity => !('note' in r)).map((r) => r.maxAbsDiff);
  const measured = diffs.length > 0 ? Math.max(...diffs) : null;
  const text = parityText(p);
  const verdict: Verdict = {
    limit: 'parity',
    max: p.tolerance,
    measured,
    unit: '',
    ok: p.ok,
    // An argmax mismatch within the tolerance still misses: count it as one tolerance over.
    excess: measured === null ? null : p.ok === false && measured <= p.tolerance ? p.tolerance : measured - p.tolerance,
    margin: text,
  };
  return withVerdict(d, verdict);
}
