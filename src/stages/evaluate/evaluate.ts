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
import { open, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LatencyError, measureLatency } from '../../measure/latency.js';
import { MEASURED_FILE } from '../../measure/measured-manifest.js';
import type { MeasuredManifest } from '../../measure/measured-manifest.js';
import type { LatencyResult, LatencyRuntime } from '../../measure/latency.js';
import { statsFromArtifacts } from '../../measure/model-stats.js';
import { packArtifacts } from '../../formats/packed.js';
import { readModelArtifacts } from '../../engine/model-io.js';
import { measureArtifactSize } from '../../measure/size.js';
import type { ArtifactRef, Json, StageContext, StageInputs, UpstreamOutputs } from '../../plugin.js';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import { outputsPass } from './evaluate-accuracy.js';
import { AgreementAccumulator } from '../../measure/agreement.js';
import type { AgreementResult } from '../../measure/agreement.js';
import { ExampleProgress } from '../training/example-progress.js';
import type { AccuracyResult } from './evaluate-accuracy.js';
import { BrowserMeasurements, nodeOutputs, parityBatch, parityJson, withParity } from './evaluate-browser.js';
import { TfliteMeasurements } from './evaluate-tflite.js';
import type { TfliteLatencyResult } from '../../browser/tflite-latency.js';
import type { BrowserOutcome, ParityBatch, ParityReport } from './evaluate-browser.js';
import type { BrowserLatencyResult } from '../../browser/browser-latency.js';
import type { BrowserBackend } from '../../browser/page-protocol.js';
import type { HostTensor } from '../../browser/parity.js';
import { BUDGET_KEYS, cannotRun, judgeDevice, summarizeBudgets, withVerdict } from '../../contracts/budget.js';
import type { Budget, DeviceVerdict } from '../../contracts/budget.js';
import { encodeEvaluation, encodeEvaluationReport, judgedCandidate, measured } from '../../contracts/evaluation.js';
import type { CandidateAgreement, CandidateDetail, CandidateLatency, EvaluatedCandidate, Evaluation } from '../../contracts/evaluation.js';
import { renderEvaluationMarkdown } from '../../contracts/evaluation-markdown.js';
import { checkpoint } from '../training/abort-checkpoint.js';

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
    minSeconds: number;
  };
}

export const evaluateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data: { type: 'string', default: 'test', description: 'Dataset (a name under `data:`) for accuracy (when it has labels) and agreement with the reference (labelled or not).' },
    topK: { type: 'integer', minimum: 2, description: 'Also report top-k accuracy for this k (e.g. 5), on labelled data. Budgets use top-1.' },
    reference: {
      type: 'string',
      minLength: 1,
      description:
        'The model accuracy drops and agreement are measured against: an upstream stage id (listed in `needs:`, with one node) or node id. ' +
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
        maxRuns: { type: 'integer', minimum: 1, default: 100000, description: 'Timed runs at most (was 300: a 0.05 ms model stopped after 15 ms of runs, where one preemption decided the p95).' },
        maxSeconds: { type: 'number', exclusiveMinimum: 0, default: 5, description: 'Seconds for warm-up + timed runs per measurement.' },
        minSeconds: { type: 'number', minimum: 0, default: 1, description: 'Timed runs go on at least this long before the p50/p95 confidence intervals may stop them as stable, so the window spans many scheduler periods and GC cycles.' },
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
  //    The artifact lists its measured values in measured.json (for reproduce).
  // 6: agreement with the reference for every candidate (labelled or not), `agreement_min`.
  // 7: runtime: tflite devices and the .tflite size budgets.
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

    // 1. Deterministic measurements: accuracy (with labels), agreement with the
    //    reference, sizes, stats. The reference goes first: its outputs are
    //    written batch by batch to a scratch file, and every candidate's pass
    //    reads the same rows back, so no pass holds all outputs in memory.
    const labelled = ds.labelled !== false;
    const accuracy = new Map<string, AccuracyResult>();
    const agreement = new Map<string, AgreementResult>();
    const referenceFile = join(ctx.scratchDir, 'reference-outputs.f32');
    let referenceClasses = 0;
    const sizes = new Map<string, Awaited<ReturnType<typeof measureArtifactSize>>>();
    const packedBytes = new Map<string, number>();
    const stats = new Map<string, ReturnType<typeof statsFromArtifacts>>();
    const inOrder = [refModel, ...candidates.filter((c) => c !== refModel)];
    for (const [i, c] of inOrder.entries()) {
      await checkpoint(ctx.signal);
      const what = `${labelled ? 'accuracy, agreement' : 'agreement'} and size of ${c.up.node}`;
      ctx.progress({ done: i, total, unit: 'candidates', message: what });
      const model = await ctx.engine.loadModel(c.model.dir);
      const isReference = c === refModel;
      let fh: FileHandle | undefined;
      let acc: AgreementAccumulator | undefined;
      try {
        fh = await open(referenceFile, isReference ? 'w' : 'r');
        const progress = new ExampleProgress((p) => ctx.progress(p), { total: ds.count, label: what });
        const pass = await outputsPass(tf, model, ds, {
          ...(labelled && config.topK !== undefined ? { k: config.topK } : {}),
          progress,
          signal: ctx.signal,
          onOutputs: async (start, rows, classes, outputs) => {
            if (isReference) {
              referenceClasses = classes;
              await fh!.write(outputs, 0, outputs.byteLength, start * classes * 4);
            } else if (classes !== referenceClasses) {
              throw new Error(
                `${c.up.node} outputs ${classes} values per example and the reference ${refModel.up.node} ${referenceClasses}: agreement compares the same classes, so every candidate must have the reference's outputs`,
              );
            }
            acc ??= new AgreementAccumulator(classes);
            const ref = isReference ? outputs : new Float32Array(rows * classes);
            if (!isReference) await fh!.read(ref, 0, ref.byteLength, start * classes * 4);
            acc.add(ref, outputs, rows);
          },
        });
        if (pass.accuracy) accuracy.set(c.up.node, pass.accuracy);
        if (acc) agreement.set(c.up.node, acc.result());
        if (batch) nodeOuts.set(c.up.node, nodeOutputs(tf, model, batch));
        const t = await tflite?.convert(c.up.node, model);
        if (t) tfliteSizes.set(c.up.node, t);
      } finally {
        await fh?.close();
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
    const refAccuracy = accuracy.get(refModel.up.node)?.top1;

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
          await checkpoint(ctx.signal);
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
      const acc = accuracy.get(node);
      const agr = agreement.get(node);
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
        ...(acc ? { accuracy: acc.top1 } : {}),
        ...(acc?.topK !== undefined ? { topKAccuracy: acc.topK, k: acc.k! } : {}),
        ...(acc && refAccuracy !== undefined ? { accuracyDropPp: refAccuracy - acc.top1 } : {}),
        ...(agr ? { agreement: agreementOf(agr) } : {}),
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
        let verdict = judgeDevice(d.budget, measured(base, d.name));
        // A model the interpreter cannot load fails a TFLite device outright (budget.ts cannotRun).
        const refusal = d.runtime === 'tflite' ? tflite?.refusal(node) : undefined;
        if (refusal !== undefined) verdict = withVerdict(verdict, cannotRun(refusal));
        const p = parityOf.get(d.name);
        deviceVerdicts[d.name] = p ? withParity(verdict, p) : verdict;
      }
      return { ...base, devices: deviceVerdicts };
    });
    const budgets = summarizeBudgets(evaluated.filter((c) => c.judged).map(judgedCandidate));
    const evaluation: Evaluation = {
      data: config.data,
      examples: ds.count,
      labelled,
      ...(config.topK !== undefined && labelled ? { topK: config.topK } : {}),
      reference: refModel.up.node,
      ...(refAccuracy !== undefined ? { referenceAccuracy: refAccuracy } : {}),
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
    // Latency is a wall-clock measurement, and the verdicts and budget summary
    // are decided from it: `reproduce` compares report.json without them.
    const measuredValues: MeasuredManifest = {
      version: 1,
      files: ['report.md'],
      json: { 'report.json': ['/candidates/*/latency', '/candidates/*/devices', '/budgets'] },
    };
    await writeFile(join(dir, MEASURED_FILE), `${JSON.stringify(measuredValues, null, 2)}\n`);
    ctx.progress({ done: total, total, unit: 'candidates', message: budgets.message });
    if (!budgets.met) ctx.logger.warn(budgets.message);
    return { outputs: { report: dir }, metrics };
  },
});

/** The contract's agreement: the percentages and divergences, without the counts the evaluation already has. */
function agreementOf(a: AgreementResult): CandidateAgreement {
  return { top1: a.top1, k: a.k, topKOverlap: a.topKOverlap, meanKl: a.meanKl, maxAbsDiff: a.maxAbsDiff };
}

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
      minSeconds: Math.min(config.latency.minSeconds, config.latency.maxSeconds),
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
    // ~95% confidence intervals, so a verdict can tell "over budget" from "cannot tell".
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
