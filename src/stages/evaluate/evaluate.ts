/**
 * Built-in stage `evaluate`: measures every candidate model of its upstream
 * (fan-in: all nodes of a fanned-out stage at once) and judges it against
 * the budgets of the recipe's devices.
 *
 * Per candidate: top-1 (and optional top-k) accuracy on a dataset and the
 * drop against a reference model; size as it ships (raw, gzip, brotli of
 * model.json + shards); params, non-zeros, MACs; latency per device on the
 * device's runtime in a separate process (src/measure/latency.ts), or for
 * `runtime: browser` in headless Chromium, with the browser's outputs checked
 * against Node's (evaluate-browser.ts). Per candidate x device x limit a
 * verdict {measured, limit, ok, margin}; `ok` is null for what cannot be
 * measured (a runtime that is not installed, a browser backend that does not
 * start), which neither passes nor fails; a failed parity check fails.
 *
 * Output `report`: report.json (everything) and report.md (per-device lines
 * and tables). Metrics carry the verdicts and `budgets` (met / best /
 * closest), which the runner reads to set exit code 3 on a miss.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LatencyError, measureLatency } from '../../measure/latency.js';
import type { LatencyResult, LatencyRuntime } from '../../measure/latency.js';
import { statsFromArtifacts } from '../../measure/model-stats.js';
import { packArtifacts } from '../../formats/packed.js';
import { readModelArtifacts } from '../../engine/model-io.js';
import { measureArtifactSize } from '../../measure/size.js';
import type { ArtifactRef, Json, StageContext, StageInputs, UpstreamOutputs } from '../../plugin.js';
import { defineStage, StageConfigError } from '../../plugin.js';
import { topKAccuracy } from './evaluate-accuracy.js';
import type { AccuracyResult } from './evaluate-accuracy.js';
import { BrowserMeasurements, nodeOutputs, parityBatch, parityJson, withParity } from './evaluate-browser.js';
import { TfliteMeasurements } from './evaluate-tflite.js';
import type { TfliteLatencyResult } from '../../browser/tflite-latency.js';
import type { BrowserOutcome, ParityBatch, ParityReport } from './evaluate-browser.js';
import type { BrowserLatencyResult } from '../../browser/browser-latency.js';
import type { BrowserBackend } from '../../browser/page-protocol.js';
import type { HostTensor } from '../../browser/parity.js';
import { BUDGET_KEYS, judgeDevice, summarizeBudgets } from '../../contracts/budget.js';
import type { Budget, DeviceVerdict } from '../../contracts/budget.js';
import { encodeEvaluation, encodeEvaluationReport, measured } from '../../contracts/evaluation.js';
import type { CandidateDetail, CandidateLatency, EvaluatedCandidate, Evaluation } from '../../contracts/evaluation.js';
import { renderEvaluationMarkdown } from '../../contracts/evaluation-markdown.js';

export interface EvaluateConfig {
  data: string;
  topK?: number;
  reference?: string;
  devices?: string[];
  latency: {
    measure: 'always' | 'budgeted' | 'never';
    warmup: number;
    minRuns: number;
    maxRuns: number;
    maxSeconds: number;
  };
}

export const evaluateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data: { type: 'string', default: 'test', description: 'Dataset (a name under `data:`) for accuracy.' },
    topK: { type: 'integer', minimum: 2, description: 'Also report top-k accuracy for this k (e.g. 5). Budgets use top-1.' },
    reference: {
      type: 'string',
      minLength: 1,
      description:
        'The model accuracy drops are measured against: an upstream stage id (listed in `needs:`, with one node) or node id. ' +
        'Default: the first upstream model in `needs` order. A reference named here is reported as the baseline but is not a candidate for the budgets summary (unless it is the only model).',
    },
    devices: {
      type: 'array',
      items: { type: 'string' },
      uniqueItems: true,
      description: 'Devices (names under the recipe\'s `devices:`) to measure and judge. Default: all of them.',
    },
    latency: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The latency measurement (in a separate Node process, or in headless Chromium for runtime: browser; per candidate and device runtime/backend/threads/batch).',
      properties: {
        measure: {
          enum: ['always', 'budgeted', 'never'],
          default: 'always',
          description: '`always`: on every device; `budgeted`: only on devices whose budget limits latency; `never`: skip (latency limits are then reported as not measured).',
        },
        warmup: { type: 'integer', minimum: 0, default: 10, description: 'Untimed runs first.' },
        minRuns: { type: 'integer', minimum: 1, default: 30, description: 'Timed runs at least.' },
        maxRuns: { type: 'integer', minimum: 1, default: 300, description: 'Timed runs at most.' },
        maxSeconds: { type: 'number', exclusiveMinimum: 0, default: 5, description: 'Seconds for warm-up + timed runs per measurement.' },
      },
    },
  },
} as const;

interface Device {
  name: string;
  runtime: string;
  /** runtime browser: the tfjs backend in the page. */
  backend?: string;
  threads: number;
  batch: number;
  budget: Budget;
}

interface Candidate {
  up: UpstreamOutputs;
  model: ArtifactRef;
}

type LatencyOutcome = { result: LatencyResult | BrowserLatencyResult | TfliteLatencyResult } | { note: string };

export const evaluateStage = defineStage<EvaluateConfig>({
  name: 'evaluate',
  // 2: runtime: browser devices are measured (latency + parity) instead of "not measured";
  // 3-4: packed format v2 (deflated topology) changes the packed sizes.
  // 5: the evaluation contract: accuracy margins in hundredths, `unstable` latency
  //    verdicts, latency intervals in the metrics, report.md from the shared renderer.
  // 6: runtime: tflite devices and the .tflite size budgets.
  version: '6',
  description: 'Accuracy, size (raw/gzip/brotli), params/MACs and per-device latency of every upstream model, judged against the device budgets.',
  schema: evaluateSchema,
  outputs: ['report'],
  // `data` (default `test`) is always read: `validate` catches an undeclared one before upstream stages train.
  datasets: () => [['data']],
  fanIn: true,
  recipeInputs: ['devices'],
  async run(ctx, config, inputs) {
    const candidates = candidatesOf(inputs);
    if (candidates.length === 0) {
      throw new Error('evaluate needs at least one upstream model: put a stage that outputs `model` (e.g. train, prune) in its `needs`');
    }
    const devices = selectDevices(ctx, config);
    const { reference: refModel, named } = chooseReference(candidates, config.reference);
    if (!(config.data in ctx.recipe.data)) {
      throw new StageConfigError(`dataset \`${config.data}\` is not declared under \`data:\``, ['data'], [`declared: ${Object.keys(ctx.recipe.data).join(', ') || '(none)'}`]);
    }
    const ds = await ctx.data(config.data);
    const tf = await ctx.engine.tf();
    const total = candidates.length;
    const browserDevices = devices.filter((d) => d.runtime === 'browser');
    // Browser parity: Node's outputs for a fixed batch, computed while the model is loaded for accuracy.
    const batch: ParityBatch | undefined = browserDevices.length > 0 ? parityBatch(ds) : undefined;
    const nodeOuts = new Map<string, HostTensor[]>();
    const packed = new Map<string, Uint8Array>();
    // runtime: tflite devices and .tflite size budgets need each candidate as a .tflite file.
    const tflite = devices.some((d) => d.runtime === 'tflite' || d.budget.size_tflite_kb !== undefined || d.budget.size_tflite_gzip_kb !== undefined)
      ? new TfliteMeasurements(ctx, ds)
      : undefined;
    const tfliteSizes = new Map<string, { tflite: number; tfliteGzip: number }>();

    // 1. Deterministic measurements: accuracy, sizes, stats.
    const accuracy = new Map<string, AccuracyResult>();
    const sizes = new Map<string, Awaited<ReturnType<typeof measureArtifactSize>>>();
    const packedBytes = new Map<string, number>();
    const stats = new Map<string, ReturnType<typeof statsFromArtifacts>>();
    for (const [i, c] of candidates.entries()) {
      ctx.signal.throwIfAborted();
      ctx.progress({ done: i, total, unit: 'candidates', message: `accuracy and size of ${c.up.node}` });
      const model = await ctx.engine.loadModel(c.model.dir);
      try {
        accuracy.set(c.up.node, await topKAccuracy(tf, model, ds, config.topK));
        if (batch) nodeOuts.set(c.up.node, nodeOutputs(tf, model, batch));
        const t = await tflite?.convert(c.up.node, model);
        if (t) tfliteSizes.set(c.up.node, t);
      } finally {
        model.dispose();
      }
      sizes.set(c.up.node, await measureArtifactSize(c.model.dir));
      // One read of the weights serves both the packed size and the stats.
      const artifacts = await readModelArtifacts(c.model.dir);
      // The packed container, all metadata counted (the file modelpress/loader reads).
      const bytes = packArtifacts(artifacts).bytes;
      packedBytes.set(c.up.node, bytes.length);
      if (batch) packed.set(c.up.node, bytes);
      stats.set(c.up.node, statsFromArtifacts(artifacts));
    }
    const refAccuracy = accuracy.get(refModel.up.node)!.top1;

    // 2. Latency (and browser parity), one measurement per candidate and distinct
    //    (runtime, backend, threads, batch), one at a time; one browser for the whole node.
    const latency = new Map<string, Map<string, LatencyOutcome>>();
    const parity = new Map<string, Map<string, ParityReport>>();
    const browser = browserDevices.length > 0 ? new BrowserMeasurements(ctx) : undefined;
    try {
      for (const [i, c] of candidates.entries()) {
        const perDevice = new Map<string, LatencyOutcome>();
        const perDeviceParity = new Map<string, ParityReport>();
        const shared = new Map<string, LatencyOutcome>();
        const sharedBrowser = new Map<string, BrowserOutcome>();
        for (const d of devices) {
          ctx.signal.throwIfAborted();
          const skip = latencySkipReason(d, config);
          const key = `${d.runtime}/${d.backend ?? ''}/${d.threads}/${d.batch}`;
          if (d.runtime === 'browser' && browser && batch) {
            // Parity is checked even when latency is skipped: it is about correctness, not speed.
            let outcome = sharedBrowser.get(key);
            if (!outcome) {
              ctx.progress({ done: i, total, unit: 'candidates', message: `browser ${d.backend} latency and parity of ${c.up.node} on ${d.name}` });
              outcome = await browser.measure(
                c.up.node,
                c.model.dir,
                packed.get(c.up.node)!,
                { batch, reference: nodeOuts.get(c.up.node)! },
                { backend: d.backend as BrowserBackend, threads: d.threads, batch: d.batch },
                { ...config.latency, ...(skip ? { skip } : {}) },
              );
              sharedBrowser.set(key, outcome);
            }
            perDevice.set(d.name, outcome.latency);
            perDeviceParity.set(d.name, outcome.parity);
            continue;
          }
          if (d.runtime === 'tflite' && tflite) {
            let outcome = shared.get(key);
            if (!outcome) {
              ctx.progress({ done: i, total, unit: 'candidates', message: `TFLite interpreter latency of ${c.up.node} on ${d.name}` });
              outcome = skip ? { note: skip } : await tflite.measure(c.up.node, d.threads, { ...config.latency, minRuns: Math.min(config.latency.minRuns, config.latency.maxRuns), seed: ctx.seed });
              shared.set(key, outcome);
            }
            perDevice.set(d.name, outcome);
            continue;
          }
          if (skip) {
            perDevice.set(d.name, { note: skip });
            continue;
          }
          let outcome = shared.get(key);
          if (!outcome) {
            ctx.progress({ done: i, total, unit: 'candidates', message: `latency of ${c.up.node} on ${d.name} (${d.runtime})` });
            outcome = await measureOn(ctx, c.model.dir, d, config);
            shared.set(key, outcome);
          }
          perDevice.set(d.name, outcome);
        }
        latency.set(c.up.node, perDevice);
        parity.set(c.up.node, perDeviceParity);
        await browser?.release(c.up.node);
      }
    } finally {
      await browser?.close();
      await tflite?.close();
    }

    // 3. Verdicts, into the one evaluation contract (src/contracts/evaluation.ts).
    const judged = named && candidates.length > 1 ? candidates.filter((c) => c !== refModel) : candidates;
    const evaluated: EvaluatedCandidate[] = candidates.map((c) => {
      const node = c.up.node;
      const acc = accuracy.get(node)!;
      const size = sizes.get(node)!;
      const st = stats.get(node)!;
      const lat = latency.get(node)!;
      const candidateLatency: Record<string, CandidateLatency> = {};
      for (const d of devices) candidateLatency[d.name] = latencyOf(lat.get(d.name)!);
      const parityOf = parity.get(node)!;
      const base = {
        node,
        stage: c.up.stage,
        matrix: c.up.matrix,
        reference: c === refModel,
        judged: judged.includes(c),
        accuracy: acc.top1,
        ...(acc.topK !== undefined ? { topKAccuracy: acc.topK, k: acc.k! } : {}),
        accuracyDropPp: refAccuracy - acc.top1,
        sizeBytes: { raw: size.raw, gzip: size.gzip, brotli: size.brotli, packed: packedBytes.get(node)!, ...tfliteSizes.get(node) },
        params: st.params,
        nonZeros: st.nonZeros,
        sparsity: st.sparsity,
        macs: st.macs,
        effectiveMacs: st.effectiveMacs,
        macsComplete: st.macsComplete,
        latency: candidateLatency,
        ...(parityOf.size > 0 ? { parity: Object.fromEntries([...parityOf].map(([d, p]) => [d, parityJson(p)])) } : {}),
      };
      const deviceVerdicts: Record<string, DeviceVerdict> = {};
      for (const d of devices) {
        const verdict = judgeDevice(d.budget, measured(base, d.name));
        const p = parityOf.get(d.name);
        deviceVerdicts[d.name] = p ? withParity(verdict, p) : verdict;
      }
      return { ...base, devices: deviceVerdicts };
    });
    const budgets = summarizeBudgets(
      evaluated.filter((c) => c.judged).map((c) => ({ node: c.node, accuracy: c.accuracy, rawBytes: c.sizeBytes.raw, devices: c.devices })),
    );
    const evaluation: Evaluation = {
      data: config.data,
      examples: ds.count,
      ...(config.topK !== undefined ? { topK: config.topK } : {}),
      reference: refModel.up.node,
      referenceAccuracy: refAccuracy,
      devices: Object.fromEntries(
        devices.map((d) => [d.name, { runtime: d.runtime, ...(d.backend ? { backend: d.backend } : {}), threads: d.threads, batch: d.batch, budget: d.budget }]),
      ),
      candidates: evaluated,
      budgets,
    };

    // 4. Outputs: the run metrics and report.json say the same things; report.json
    //    adds the data fingerprint and per-candidate detail (digest, files, layers).
    const dir = await ctx.outputDir('report');
    const detail: Record<string, CandidateDetail> = {};
    for (const c of candidates) {
      const size = sizes.get(c.up.node)!;
      const st = stats.get(c.up.node)!;
      detail[c.up.node] = {
        digest: c.model.digest,
        size: { files: size.files.map((f) => ({ ...f })), modelJson: { ...size.modelJson }, weights: { ...size.weights } },
        layers: st.layers.map((l) => ({ name: l.name, className: l.className, params: l.params, nonZeros: l.nonZeros, macs: l.macs, effectiveMacs: l.effectiveMacs })),
      };
    }
    const report = encodeEvaluationReport({ evaluation, dataFingerprint: ds.fingerprint, detail });
    await writeFile(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(dir, 'report.md'), renderEvaluationMarkdown(evaluation));
    const metrics = encodeEvaluation(evaluation);
    ctx.progress({ done: total, total, unit: 'candidates', message: budgets.message });
    if (!budgets.met) ctx.logger.warn(budgets.message);
    return { outputs: { report: dir }, metrics };
  },
});

function candidatesOf(inputs: StageInputs): Candidate[] {
  const out: Candidate[] = [];
  for (const up of inputs.upstream) {
    const model = up.outputs.model;
    if (model) out.push({ up, model });
  }
  return out;
}

function chooseReference(candidates: Candidate[], name: string | undefined): { reference: Candidate; named: boolean } {
  if (name === undefined) return { reference: candidates[0]!, named: false };
  const byNode = candidates.find((c) => c.up.node === name);
  if (byNode) return { reference: byNode, named: true };
  const byStage = candidates.filter((c) => c.up.stage === name);
  if (byStage.length === 1) return { reference: byStage[0]!, named: true };
  if (byStage.length > 1) {
    throw new StageConfigError(
      `reference \`${name}\` is fanned out into ${byStage.length} nodes: name one of them`,
      ['reference'],
      byStage.map((c) => c.up.node),
    );
  }
  const stages = [...new Set(candidates.map((c) => c.up.stage))];
  throw new StageConfigError(
    `reference \`${name}\` is not an upstream model of this stage; upstream models come from: ${stages.join(', ')}`,
    ['reference'],
    [`add \`${name}\` to this stage's \`needs:\`, or use one of: ${stages.join(', ')}`],
  );
}

function num(v: Json | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function selectDevices(ctx: StageContext, config: EvaluateConfig): Device[] {
  const declared = ctx.recipe.devices;
  const names = Object.keys(declared);
  const chosen = config.devices ?? names;
  chosen.forEach((n, i) => {
    if (!Object.prototype.hasOwnProperty.call(declared, n)) {
      throw new StageConfigError(
        `device \`${n}\` is not declared under \`devices:\`; declared: ${names.length ? names.join(', ') : '(none)'}`,
        ['devices', i],
        names.length ? [`use one of: ${names.join(', ')}`] : ['declare it under the recipe\'s `devices:` (or extend a preset such as modelpress:devices/web-mobile)'],
      );
    }
  });
  return chosen.map((name) => {
    const d = (declared[name] ?? {}) as Record<string, Json>;
    const budgetJson = (d.budget ?? {}) as Record<string, Json>;
    const budget: Budget = {};
    for (const k of BUDGET_KEYS) if (typeof budgetJson[k] === 'number') budget[k] = budgetJson[k];
    const runtime = typeof d.runtime === 'string' ? d.runtime : 'wasm';
    return {
      name,
      runtime,
      // The page's tfjs backend matters only in a browser; Node runtimes name their backend in `runtime`.
      ...(runtime === 'browser' ? { backend: typeof d.backend === 'string' ? d.backend : 'wasm' } : {}),
      threads: num(d.threads, 1),
      batch: num(d.batch, 1),
      budget,
    };
  });
}

function latencySkipReason(d: Device, config: EvaluateConfig): string | undefined {
  if (config.latency.measure === 'never') return 'not measured (latency.measure: never)';
  if (config.latency.measure === 'budgeted' && d.budget.latency_ms_p50 === undefined && d.budget.latency_ms_p95 === undefined) {
    return 'not measured (latency.measure: budgeted, no latency limit)';
  }
  return undefined;
}

async function measureOn(ctx: StageContext, dir: string, d: Device, config: EvaluateConfig): Promise<{ result: LatencyResult } | { note: string }> {
  try {
    const result = await measureLatency(dir, {
      runtime: d.runtime as LatencyRuntime,
      threads: d.threads,
      batch: d.batch,
      warmup: config.latency.warmup,
      minRuns: Math.min(config.latency.minRuns, config.latency.maxRuns),
      maxRuns: config.latency.maxRuns,
      maxSeconds: config.latency.maxSeconds,
      seed: ctx.seed,
      signal: ctx.signal,
    });
    return { result };
  } catch (err) {
    if (err instanceof LatencyError) {
      ctx.logger.warn(`latency on ${d.name} (${d.runtime}) not measured: ${err.message}`);
      return { note: `not measured: ${err.message}` };
    }
    throw err;
  }
}

/** A latency outcome in the contract's shape; report.json's `detail` keeps the measurement's full statistics in their historical key order. */
function latencyOf(l: LatencyOutcome): CandidateLatency {
  if ('note' in l) return { measured: false, note: l.note };
  const r = l.result;
  return {
    measured: true,
    runtime: r.runtime,
    ...('backend' in r ? { backend: r.backend } : {}),
    backendActual: r.backendActual,
    threadsRequested: r.threadsRequested,
    threadsActual: r.threadsActual,
    batch: r.batch,
    p50Ms: r.p50Ms,
    p95Ms: r.p95Ms,
    runs: r.runs,
    spread: r.spread,
    stable: r.stable,
    stopReason: r.stopReason,
    p50IntervalMs: r.p50IntervalMs,
    p95IntervalMs: r.p95IntervalMs,
    ...('pid' in r ? { pid: r.pid } : { browserVersion: r.browserVersion }),
    notes: [...r.notes],
    detail: {
      warmup: r.warmup,
      meanMs: r.meanMs,
      minMs: r.minMs,
      maxMs: r.maxMs,
      stdevMs: r.stdevMs,
      p50IntervalMs: r.p50IntervalMs,
      p95IntervalMs: r.p95IntervalMs,
      inputShapes: r.inputShapes,
      loadMs: r.loadMs,
      measureSeconds: r.measureSeconds,
      ...('pid' in r ? { nodeVersion: r.nodeVersion } : 'renderer' in r ? { crossOriginIsolated: r.crossOriginIsolated, renderer: r.renderer } : {}),
      tfjsVersion: r.tfjsVersion,
    },
  };
}
