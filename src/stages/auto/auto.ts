/**
 * Built-in stage `auto`: budget-driven compression that chooses per-layer
 * sparsity, sharing bits and weight dtype by itself.
 *
 * 1. Reads an upstream `sensitivity` table (the per-layer loss of each
 *    option) and builds each layer's choices (search-space.ts).
 * 2. Prices every choice exactly with the size model (cost-model.ts: packed
 *    bytes from the real packer, additive over layers; a structured ratio
 *    by the packed size of the model narrowed at that layer,
 *    narrowed-models.ts) and, when a device has a latency budget, with the
 *    latency table measured on the device's runtime (latency-table.ts:
 *    only structured ratios move latency).
 * 3. Allocates with the exact multiple-choice knapsack (allocate.ts):
 *    smallest predicted loss with packed size, p50 and p95 within budget.
 * 4. Applies the allocation (units removed first, then the prune/share/quantize math), fine-tunes
 *    with masks and clusters held (share-finetune.ts's constraint hooks;
 *    prune + retrain, then share + centroid fine-tuning when both) on
 *    the training data minus the calibration split, then measures packed
 *    size, accuracy on the calibration split (search on validation; the
 *    test set is for evaluate) and, with a latency budget, p50/p95 on the
 *    device's runtime (predicted vs measured in trials.json).
 * 5. Repairs a miss of the accuracy target by banning the most damaging
 *    choice (the largest predicted loss) and allocating again, within
 *    `trials`.
 * 6. Runs the baselines with the same fine-tuning: the least aggressive
 *    uniform setting that meets the size budget, and random feasible
 *    assignments, as many as the search's trials.
 *
 * Outputs `model` (the best trial) and `search` (trials.json: every trial
 * with settings, predicted vs measured size and accuracy, time; auto.yaml:
 * the settings as a recipe fragment; auto.md: the summary table).
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import type { Dataset, Json, StageContext } from '../../stage-definition.js';
import { seededRandom, splitDataset } from '../../data/dataset.js';
import { layerSeed } from '../../engine/builders.js';
import { readModelArtifacts, writeModelArtifacts } from '../../engine/model-io.js';
import { packArtifacts } from '../../formats/packed.js';
import type { QuantizationDtype } from '../../formats/weight-quantization.js';
import { splitWeights, withWeights } from '../../formats/weight-quantization.js';
import { decodeSensitivity, SENSITIVITY_FAMILIES } from '../../contracts/sensitivity.js';
import type { Sensitivity, SensitivityFamily } from '../../contracts/sensitivity.js';
import { fmtHundredths, fmtKb } from '../../contracts/format.js';
import { mdTable, mdText } from '../../contracts/markdown.js';
import { kernelVariables, round6 } from '../prune/prune-magnitude.js';
import { constraintHooks } from '../share/share-finetune.js';
import type { Constraint } from '../share/share-finetune.js';
import { finetune, finetuneSchema } from '../training/finetune.js';
import type { FinetuneConfig } from '../training/finetune.js';
import { compilePattern } from '../training/layer-targeting.js';
import { evaluateAccuracy } from '../training/train-loop.js';
import { checkpoint } from '../training/abort-checkpoint.js';
import { applySetting, heldBy, settingLabel } from '../sensitivity/layer-setting.js';
import type { LayerSetting } from '../sensitivity/layer-setting.js';
import { allocate } from './allocate.js';
import type { AllocationLayer, AllocationProblem } from './allocate.js';
import { keepSourceStorage, searchedKernels, sizeModel, sourceDtypes, sourceStorageRule, storageSetting, storeWithSetting } from './cost-model.js';
import type { SizeModel } from './cost-model.js';
import { fragmentYaml } from './recipe-fragment.js';
import { rankedAllocations } from './ranked-allocations.js';
import { trialPhases } from './trial-phases.js';
import { gradualPruning } from './gradual-pruning.js';
import { pruneScheduleSchema } from '../prune/prune-schedule.js';
import type { PruneSchedule } from '../prune/prune-schedule.js';
import { correctAfterMiss } from './budget-correction.js';
import { ANCHOR_TIMINGS, atAnchorSpeed, LATENCY_ENTRY_SECONDS, latencyCost, latencyEnds, machineSpeed, measureLatencyTable, predictLatency, timeAgainstBase } from './latency-table.js';
import type { LatencyPoint, LatencyTable } from './latency-table.js';
import { narrowedModels } from './narrowed-models.js';
import { AssignmentSize, layerRecordBytes } from './assignment-size.js';
import type { NarrowedModel } from './narrowed-models.js';
import { removeUnits, structuredRatios } from '../sensitivity/structured-setting.js';
import { LATENCY_RUNTIMES } from '../../measure/latency.js';
import type { LatencyRuntime } from '../../measure/latency.js';
import { TrialStore, trialKey } from './trial-store.js';
import { layerChoices } from './search-space.js';
import type { LayerChoice } from './search-space.js';
import { bitsChanges, chooseBitsAfterPruning } from './bits-after-pruning.js';

export interface AutoConfig {
  devices?: string[];
  budget: { size_packed_kb?: number; accuracy_drop_pp?: number };
  families: SensitivityFamily[];
  keep?: string[];
  finetune: FinetuneConfig;
  /** Sparsity raised during the trials' retraining (gradual-pruning.ts); undefined: pruned at once. */
  pruneSchedule?: PruneSchedule;
  trials: number;
  /** Allocations measured after the first that meets every budget (ranked-allocations.ts); undefined: 0. */
  explore?: number;
  baselines: boolean;
  resume: { dir: string };
  latency: { maxSeconds: number; trialSeconds: number; dir: string };
}

export const autoSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    devices: { type: 'array', items: { type: 'string' }, description: 'Recipe devices whose `size_packed_kb`, `latency_ms_p50`, `latency_ms_p95` and `accuracy_drop_pp` budgets to meet (the tightest of each; latency budgets on one Node runtime: wasm, cpu or tfjs-node). Default: every device of the recipe.' },
    budget: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Budgets of this search on top of the devices\' (the tightest wins).',
      properties: {
        size_packed_kb: { type: 'number', exclusiveMinimum: 0, description: 'Packed size limit in KB (1024 bytes).' },
        accuracy_drop_pp: { type: 'number', minimum: 0, description: 'Largest accuracy drop (pp, on the calibration split) a trial may have to count as meeting the budget.' },
      },
    },
    families: { type: 'array', items: { enum: ['sparsity', 'bits', 'dtype', 'structured'] }, default: ['sparsity', 'bits', 'dtype', 'structured'], description: 'Which measured families the search may use (a family the sensitivity table did not measure adds no choice). Default: all four.' },
    keep: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Layer name patterns kept as they are (not searched).' },
    finetune: { ...finetuneSchema, description: 'Fine-tuning of every trial (and of the baselines), with masks and clusters held. `data` defaults to `train`; when it is the sensitivity\'s data, its calibration split is left out.' },
    pruneSchedule: {
      ...pruneScheduleSchema,
      description:
        'Raise each trial\'s (and baseline\'s) sparsities gradually while it retrains, as the prune stage\'s `schedule:` (the recipe fragment\'s prune stage gets it), instead of pruning at once before retraining. The ramp lasts `epochs`, at most the pruning phase (every fine-tuning epoch when the trial does not share; all but the centroid quarter when it does). Needs `finetune.epochs` > 0. Default: unset, pruned at once. Example: `{ epochs: 6 }` with `finetune.epochs: 16`.',
    },
    trials: { type: 'integer', minimum: 1, maximum: 100, default: 4, description: 'Most search trials (allocate, fine-tune, measure; repairs included). Default: 4.' },
    explore: {
      type: 'integer',
      minimum: 0,
      maximum: 99,
      description:
        'After a trial meets every budget, measure up to this many more allocations, each the best predicted one not tried yet (within `trials`), and keep the one most accurate on the calibration split. The table adds single-layer losses, so at extreme ratios its order of close allocations can be wrong; this spends trials to find out. The random baseline gets as many trials as the search used. Default 0: stop at the first trial that meets.',
    },
    baselines: { type: 'boolean', default: true, description: 'Also run uniform allocation and random search with the same fine-tuning and number of trials. Default: true.' },
    resume: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Where finished trials are kept, so an interrupted search reruns no trial and a rerun is instant.',
      properties: { dir: { type: 'string', default: '.modelpress/auto-trials', description: 'Directory, relative to the recipe. Default: `.modelpress/auto-trials` (beside the default cache).' } },
    },
    latency: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'How latency is measured when a device has a latency budget: the per-layer table (one child process per entry) and each trial.',
      properties: {
        maxSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 60, default: LATENCY_ENTRY_SECONDS, description: `Warm-up + timed runs per table entry, seconds (the child's start-up, about a second with wasm, comes on top). Default: ${LATENCY_ENTRY_SECONDS}.` },
        trialSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 120, default: 1, description: `Timed seconds for each trial model, and as long for the unmodified model side by side with it (one child process); the unmodified model is timed the same way ${ANCHOR_TIMINGS} times before the search (beside a copy of itself), and the median of all its timings is the machine speed trials are predicted and judged at. Default: 1.` },
        dir: { type: 'string', default: '.modelpress/latency-memo', description: 'Where table entries are kept, per (model, runtime, threads, batch, maxSeconds, layer, ratio); relative to the recipe. Default: `.modelpress/latency-memo`.' },
      },
    },
  },
} as const;

/** One trial, as trials.json records it. */
export interface Trial {
  trial: number;
  kind: 'search' | 'repair' | 'explore' | 'uniform' | 'random';
  settings: Record<string, LayerSetting>;
  /** Latency in ms on the budget's runtime: present when a device has a latency budget. */
  predicted: { packedBytes: number; dropPp: number; latency?: LatencyPoint };
  measured: {
    packedBytes: number;
    accuracy: number;
    dropPp: number;
    /** The trial's latency at the machine's speed (`judgedAt`; atAnchorSpeed, latency-table.ts): what the verdict and the repair use. */
    latency?: LatencyPoint;
    /** As timed, before that scaling. */
    timedLatency?: LatencyPoint;
    /** The unmodified model timed in the same session as `timedLatency` (the load of that moment, for comparing changes). */
    unmodifiedLatency?: LatencyPoint;
    /** The machine speed `latency` is at: machineSpeed over the anchor timings so far, this trial's `unmodifiedLatency` included. */
    judgedAt?: LatencyPoint;
  };
  meets: boolean;
  /** What it missed, e.g. `accuracy drop 2.10 pp > 1 pp`. */
  missed: string[];
  ms: number;
  /** The trial's key: its model is kept under `<resume.dir>/<key>/model` (benchmarks evaluate it on the test set). */
  key: string;
  /** true when the trial was read back from `resume.dir` instead of run. */
  resumed?: boolean;
  /**
   * A search trial that pruned and shared under a size budget: its bits were
   * re-allocated on the retrained survivors (bits-after-pruning.ts).
   * `allocated`: the allocation's settings; `allocatedPacked`: their exact
   * packed bytes on the retrained model; `packed`: that of `settings`.
   */
  bitsAfterPruning?: { allocated: Record<string, LayerSetting>; allocatedPacked: number; packed: number };
}

interface Budgets {
  /** Infinity when no size budget is given (a latency budget alone is enough). */
  packedBytes: number;
  dropPp: number;
  p50Ms: number;
  p95Ms: number;
  /** Where latency is measured: the runtime of the devices with a latency budget. */
  latency?: { runtime: LatencyRuntime; threads: number; batch: number; devices: string[] };
}

function budgetsOf(ctx: StageContext, config: AutoConfig): Budgets {
  const devices = ctx.recipe.devices as Record<string, { runtime?: string; threads?: number; batch?: number; budget?: Record<string, number> }>;
  const names = config.devices ?? Object.keys(devices);
  let size = config.budget.size_packed_kb ?? Infinity;
  let drop = config.budget.accuracy_drop_pp ?? Infinity;
  let p50 = Infinity;
  let p95 = Infinity;
  let latency: Budgets['latency'];
  names.forEach((name, i) => {
    const d = devices[name];
    if (!d) throw new StageConfigError(`device \`${name}\` is not in the recipe's devices`, ['devices', i], [`devices: ${Object.keys(devices).join(', ') || '(none)'}`]);
    size = Math.min(size, d.budget?.['size_packed_kb'] ?? Infinity);
    drop = Math.min(drop, d.budget?.['accuracy_drop_pp'] ?? Infinity);
    const dp50 = d.budget?.['latency_ms_p50'];
    const dp95 = d.budget?.['latency_ms_p95'];
    if (dp50 === undefined && dp95 === undefined) return;
    const where = config.devices ? ['devices', i] : ['devices'];
    // The table is measured on one runtime; the browser and TFLite runtimes
    // time a page or an interpreter, not the Node child the table uses.
    if (!LATENCY_RUNTIMES.includes(d.runtime as LatencyRuntime)) {
      throw new StageConfigError(`device \`${name}\` has a latency budget on runtime \`${String(d.runtime)}\`; auto measures latency tables on ${LATENCY_RUNTIMES.join(', ')} only`, where, ['search on a wasm, cpu or tfjs-node device, then check the browser/tflite device with evaluate']);
    }
    const here = { runtime: d.runtime as LatencyRuntime, threads: d.threads ?? 1, batch: d.batch ?? 1 };
    if (latency && (latency.runtime !== here.runtime || latency.threads !== here.threads || latency.batch !== here.batch)) {
      throw new StageConfigError(`devices \`${latency.devices.join('`, `')}\` and \`${name}\` have latency budgets on different runtimes (${latency.runtime}/${latency.threads} threads/batch ${latency.batch} vs ${here.runtime}/${here.threads}/${here.batch}); one search meets one runtime's latency`, where, ['run one auto stage per runtime, each with `devices: [<name>]`']);
    }
    latency = { ...here, devices: [...(latency?.devices ?? []), name] };
    p50 = Math.min(p50, dp50 ?? Infinity);
    p95 = Math.min(p95, dp95 ?? Infinity);
  });
  if (size === Infinity && !latency) {
    throw new StageConfigError('auto needs a packed-size or latency budget to search for', ['budget'], ['set `budget: { size_packed_kb: N }`, or give a device under `devices:` a `size_packed_kb`, `latency_ms_p50` or `latency_ms_p95` budget']);
  }
  return { packedBytes: size * 1024, dropPp: drop, p50Ms: p50, p95Ms: p95, ...(latency ? { latency } : {}) };
}

function readSensitivity(inputs: { upstream: { node: string; outputs: Record<string, { dir: string }> }[] }): Promise<Sensitivity> {
  const up = inputs.upstream.find((u) => u.outputs['sensitivity']);
  if (!up) throw new Error('auto needs a sensitivity table: put a `sensitivity` stage in its `needs` (with the model source), e.g. `needs: [model, sensitivity]`');
  return readFile(join(up.outputs['sensitivity']!.dir, 'sensitivity.json'), 'utf8').then((text) => {
    const d = decodeSensitivity(JSON.parse(text) as Json, `${up.node}/sensitivity.json`);
    if (!d.ok) throw new Error(d.error);
    return d.value;
  });
}

interface TrialResult {
  dir: string;
  packedBytes: number;
  accuracy: number;
  latency?: LatencyPoint;
  /** Centroid fine-tuning was skipped: the clustered model was already over the size budget. */
  skippedFinetune?: boolean;
  /** The settings the model has (the allocation's, bits re-chosen when `bitsAfterPruning`). */
  settings: Record<string, LayerSetting>;
  bitsAfterPruning?: Trial['bitsAfterPruning'];
}

/** What every trial of one search shares. */
interface TrialGround {
  /** The unmodified model. */
  modelDir: string;
  config: AutoConfig;
  /** Fine-tuning data and the calibration split trials are measured on. */
  fit: Dataset;
  val: Dataset;
  /** Packed-size budget in bytes (Infinity without one). */
  sizeLimit: number;
  /** The tensors the unmodified model came quantized (storageSetting). */
  source: ReadonlyMap<string, QuantizationDtype>;
  /** The searched layers and their choices: what bits are re-allocated over after pruning. */
  layers: readonly string[];
  choices: ReadonlyMap<string, readonly LayerChoice[]>;
}

/**
 * Applies `settings` to a fresh copy of the model, fine-tunes with them held, stores, measures.
 * In Deep Compression's order when a trial both prunes and shares: prune and
 * retrain the survivors (three quarters of the epochs: trial-phases.ts), then
 * cluster the retrained survivors and fine-tune the centroids (the rest);
 * clustering weights that were never retrained after pruning fixes the
 * codebook to values fine-tuning would have moved.
 */
async function runTrial(ctx: StageContext, on: TrialGround, allocated: Record<string, LayerSetting>, dir: string, rechooseBits: boolean): Promise<TrialResult> {
  const { modelDir, config, fit, val, sizeLimit, source } = on;
  const tf = await ctx.engine.tf();
  // Units first: the per-tensor families then act on the shapes the model keeps.
  const model: LayersModel = await removeUnits(ctx, await ctx.engine.loadModel(modelDir), structuredRatios(allocated));
  let settings = allocated;
  /** Applies `pick` of each layer's setting to its kernels as they are now; returns what fine-tuning must hold. */
  const hold = (pick: (s: LayerSetting) => LayerSetting): Constraint[] => {
    const constraints: Constraint[] = [];
    for (const [layer, s] of Object.entries(settings)) {
      const setting = pick(s);
      if (setting.sparsity === undefined && setting.bits === undefined) continue;
      for (const v of kernelVariables(model, layer) as LayerVariable[]) {
        const values = v.read().dataSync().slice() as Float32Array;
        const applied = applySetting(values, setting, seededRandom(layerSeed(ctx.seed, model.weights.indexOf(v))));
        v.write(tf.tensor(applied.values, v.shape as number[]));
        const c = heldBy(v, applied, setting);
        if (c) constraints.push(c);
      }
    }
    return constraints;
  };
  const perTensor = (s: LayerSetting): LayerSetting => ({ ...(s.sparsity !== undefined ? { sparsity: s.sparsity } : {}), ...(s.bits !== undefined ? { bits: s.bits } : {}) });
  const phases = trialPhases(config.finetune.epochs, settings, config.pruneSchedule !== undefined);
  if (phases.prune > 0 && config.pruneSchedule) {
    const gradual = gradualPruning(tf, model, settings, config.pruneSchedule, phases.prune, Math.ceil(fit.count / config.finetune.batchSize));
    try {
      await finetune(ctx, model, { ...config.finetune, epochs: phases.prune }, gradual.hooks, fit);
    } finally {
      gradual.dispose();
    }
  } else if (phases.prune > 0) {
    const pruned = hold((s) => (s.sparsity !== undefined ? { sparsity: s.sparsity } : {}));
    await finetune(ctx, model, { ...config.finetune, epochs: phases.prune }, constraintHooks(tf, pruned), fit);
  }
  let bitsAfterPruning: TrialResult['bitsAfterPruning'];
  if (rechooseBits && rechoosesBits(config.finetune.epochs, settings, sizeLimit)) {
    // The survivors are final up to clustering: each bits option's packed size is exact now (for this model; see bits-after-pruning.ts).
    const retrained = `${dir}-retrained`;
    await ctx.engine.saveModel(model, retrained);
    const artifacts = keepSourceStorage(await readModelArtifacts(retrained), source);
    await rm(retrained, { recursive: true, force: true });
    const chosen = chooseBitsAfterPruning(sizeModel(artifacts, searchedKernels(artifacts, on.layers), source), allocated, on.choices, sizeLimit);
    settings = chosen.settings;
    bitsAfterPruning = { allocated, allocatedPacked: chosen.allocatedPacked, packed: chosen.packed };
    if (chosen.changed) ctx.logger.info(`bits re-chosen on the retrained survivors: ${bitsChanges(allocated, settings).join(', ')} (${fmtKb(chosen.allocatedPacked)} -> ${fmtKb(chosen.packed)})`);
  }
  // Re-pruning the retrained kernels at the same sparsity keeps the same zeros (they are the smallest magnitudes).
  const constraints = hold(perTensor);
  if (phases.share > 0) {
    // Once the retrained survivors are clustered the searched kernels' packed size is final (centroid
    // fine-tuning moves the codebook, not which weight uses which entry; the unsearched tensors still
    // train): a trial already over the size budget skips it.
    // The size model priced the clusters of the original weights; retrained survivors spread over more of them.
    // Bits re-chosen on these survivors already know that size exactly; otherwise it is measured by storing.
    const known = bitsAfterPruning?.packed;
    const packed = phases.prune > 0 && Number.isFinite(sizeLimit) ? (known ?? (await storeTrial(ctx, model, settings, dir, source))) : 0;
    if (packed > sizeLimit) {
      if (known !== undefined) await storeTrial(ctx, model, settings, dir, source);
      const { accuracy } = await evaluateAccuracy(tf, await ctx.engine.loadModel(dir), val, 512, ctx.signal);
      return { dir, packedBytes: packed, accuracy: round6(accuracy), skippedFinetune: true, settings, ...(bitsAfterPruning ? { bitsAfterPruning } : {}) };
    }
    await finetune(ctx, model, { ...config.finetune, epochs: phases.share }, constraintHooks(tf, constraints), fit);
  }
  const packedBytes = await storeTrial(ctx, model, settings, dir, source);
  const { accuracy } = await evaluateAccuracy(tf, await ctx.engine.loadModel(dir), val, 512, ctx.signal);
  return { dir, packedBytes, accuracy: round6(accuracy), settings, ...(bitsAfterPruning ? { bitsAfterPruning } : {}) };
}

/** Whether a search trial with `settings` re-chooses its bits on its retrained survivors: it has two phases and a size budget. */
function rechoosesBits(epochs: number, settings: Readonly<Record<string, LayerSetting>>, sizeLimit: number): boolean {
  return trialPhases(epochs, settings).prune > 0 && Number.isFinite(sizeLimit);
}

/**
 * Saves a trial's model to `dir` with its storage dtypes applied last, as the quantize stage would
 * (and tensors that came quantized stored so again: storageSetting); returns the packed bytes.
 */
async function storeTrial(ctx: StageContext, model: LayersModel, settings: Record<string, LayerSetting>, dir: string, source: ReadonlyMap<string, QuantizationDtype>): Promise<number> {
  await ctx.engine.saveModel(model, dir);
  const artifacts = await readModelArtifacts(dir);
  const weights = splitWeights(artifacts).map((w) => {
    const layer = w.spec.name.slice(0, w.spec.name.lastIndexOf('/'));
    const dtype = w.spec.dtype === 'float32' ? storageSetting(w.spec.name, w.spec.shape.reduce((a, b) => a * b, 1), settings[layer] ?? {}, source).dtype : undefined;
    return dtype ? storeWithSetting(w, { dtype }) : w;
  });
  const stored = withWeights(artifacts, weights);
  await writeModelArtifacts(stored, dir);
  return packArtifacts(stored).breakdown.totalBytes;
}

export const autoStage = defineStage<AutoConfig>({
  name: 'auto',
  // 5: a trial retrains its survivors for three quarters of the epochs, not half (trial-phases.ts).
  version: '5',
  description: 'Budget-driven compression: per-layer sparsity / sharing bits / dtype / structured ratios allocated over a sensitivity table under packed-size and latency budgets (per-layer latency table on the device runtime), fine-tuned, measured and repaired; with uniform and random baselines.',
  schema: autoSchema,
  outputs: ['model', 'search'],
  recipeInputs: ['devices'],
  datasets: (c) => (c.finetune.epochs > 0 ? [['finetune', 'data']] : []),
  async run(ctx, config, inputs) {
    if (!inputs.model) throw new Error('auto needs a model: put the model source (or a stage that outputs `model`) in its `needs`, e.g. `needs: [model, sensitivity]`');
    const budgets = budgetsOf(ctx, config);
    if (config.pruneSchedule && config.finetune.epochs === 0) {
      throw new StageConfigError('`pruneSchedule` raises sparsity while the trials retrain, and `finetune.epochs` is 0', ['pruneSchedule'], ['set `finetune.epochs` (e.g. 8), or drop `pruneSchedule` to prune at once']);
    }
    const sens = await readSensitivity(inputs);
    const source = await ctx.data(sens.calibration.data);
    const [rest, val] = splitDataset(source, sens.calibration.fraction, sens.calibration.seed);
    const fit = config.finetune.data === sens.calibration.data ? rest : await ctx.data(config.finetune.data);
    const original = await ctx.engine.loadModel(inputs.model.dir);
    const tf = await ctx.engine.tf();
    const baseline = (await evaluateAccuracy(tf, original, val, 512, ctx.signal)).accuracy;

    const keep = (config.keep ?? []).map(compilePattern);
    const layers = sens.layers.filter((l) => !keep.some((m) => m(l)));
    const artifacts = await readModelArtifacts(inputs.model.dir);
    const sourceStorage = sourceDtypes(artifacts);
    const size: SizeModel = sizeModel(artifacts, searchedKernels(artifacts, layers), sourceStorage);
    const choices = new Map(layers.map((l) => [l, layerChoices(sens, l, config.families.filter((f) => SENSITIVITY_FAMILIES.includes(f)))]));

    // Structured choices: one narrowed model per (layer, ratio), priced by
    // its packed size and timed for the latency table.
    const pairs = layers.flatMap((l) => choices.get(l)!.flatMap((c) => (c.setting.structured !== undefined ? [{ layer: l, ratio: c.setting.structured }] : [])));
    const narrowed = await narrowedModels(ctx, original, pairs, join(ctx.scratchDir, 'narrowed'));
    for (const r of narrowed.refused) ctx.logger.info(`structured choice left out: ${r}`);
    const narrowedOf = (l: string, ratio: number): NarrowedModel | undefined => narrowed.models.find((n) => n.layer === l && n.ratio === ratio);
    for (const l of layers) choices.set(l, choices.get(l)!.filter((c) => c.setting.structured === undefined || narrowedOf(l, c.setting.structured) !== undefined));
    const sizeBudget = Number.isFinite(budgets.packedBytes);
    // A structured ratio is priced in the allocation by what it removes from the layer's own tensors
    // (never optimistic: assignment-size.ts), and exactly, whole assignment at once, for trials and baselines.
    // The narrowed model is re-saved in float32: stored as a trial would store it (a uint8 source stays uint8) before comparing.
    const ownSaving = new Map<string, number>();
    if (sizeBudget) {
      for (const n of narrowed.models) {
        const narrowedArtifacts = keepSourceStorage(await readModelArtifacts(n.dir), sourceStorage);
        ownSaving.set(`${n.layer}\u0000${n.ratio}`, layerRecordBytes(artifacts, n.layer) - layerRecordBytes(narrowedArtifacts, n.layer));
      }
    }
    const exact = new AssignmentSize(ctx, original, size, layers, join(ctx.scratchDir, 'assignments'), sourceStorage);
    const packedOf = (l: string, st: LayerSetting): number => {
      if (st.structured === undefined) return size.layerCost(l, st).packed;
      return size.layerCost(l, {}).packed - ownSaving.get(`${l}\u0000${st.structured}`)!;
    };
    const predictPacked = (settings: Record<string, LayerSetting>) => exact.predict(settings);

    let table: LatencyTable | undefined;
    const baseDir = join(ctx.scratchDir, 'unmodified');
    if (budgets.latency) {
      const lat = budgets.latency;
      await ctx.engine.saveModel(original, baseDir);
      // The fastest reachable: every narrowed layer at its largest ratio (skipped when the prune stage refuses the combination).
      const largest: Record<string, number> = {};
      for (const n of narrowed.models) largest[n.layer] = Math.max(largest[n.layer] ?? 0, n.ratio);
      let floorDir: string | undefined;
      if (Object.keys(largest).length > 0) {
        try {
          const fastest = await removeUnits(ctx, original, largest);
          floorDir = join(ctx.scratchDir, 'fastest');
          await ctx.engine.saveModel(fastest, floorDir);
        } catch (err) {
          if (!(err instanceof StageConfigError)) throw err;
          ctx.logger.info(`no latency floor: ${err.message}`);
        }
      }
      table = await measureLatencyTable(baseDir, narrowed.models, {
        ...lat,
        maxSeconds: config.latency.maxSeconds,
        modelDigest: inputs.model.digest,
        memoDir: resolve(ctx.recipeDir, config.latency.dir),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onEntry: (done, total, what) => ctx.progress({ done, total, unit: 'latency entries', message: what }),
      }, floorDir);
      ctx.logger.info(`latency table on ${lat.runtime} (${lat.threads} thread(s), batch ${lat.batch}): ${table.entries.length + 1} entries, ${table.measured} timed in ${table.seconds} s; unmodified p50 ${table.base.p50Ms.toFixed(3)} ms, p95 ${table.base.p95Ms.toFixed(3)} ms${table.floor ? `; fastest reachable p50 ${table.floor.p50Ms.toFixed(3)} ms, p95 ${table.floor.p95Ms.toFixed(3)} ms; single-layer savings x ${table.savingScale.toFixed(2)} to sum to it` : ''}`);
      // Predictions start from the unmodified model as trials are timed, now (latency-table.ts: the machine drifts, and a table's p95s are noise).
      const anchorTimings: LatencyPoint[] = [];
      for (let i = 0; i < ANCHOR_TIMINGS; i++) {
        ctx.progress({ done: i, total: ANCHOR_TIMINGS, unit: 'anchor timings', message: 'timing the unmodified model as trials are' });
        anchorTimings.push((await timeAgainstBase(baseDir, baseDir, { ...lat, maxSeconds: config.latency.trialSeconds, ...(ctx.signal ? { signal: ctx.signal } : {}) })).unmodified);
      }
      table = { ...table, anchor: machineSpeed(anchorTimings), anchorTimings };
      const ends = latencyEnds(table);
      ctx.logger.info(`unmodified model timed as trials are (median of ${ANCHOR_TIMINGS}, p50 ${anchorTimings.map((t) => fmtMs(t.p50Ms)).join(', ')}): p50 ${fmtMs(ends.base.p50Ms)}, p95 ${fmtMs(ends.base.p95Ms)}${ends.floor ? `; fastest reachable predicted at p50 ${fmtMs(ends.floor.p50Ms)}, p95 ${fmtMs(ends.floor.p95Ms)}` : ''}`);
      if (table.entries.length === 0) ctx.logger.warn('latency budget without structured choices: only removing units moves latency on a dense runtime; give the sensitivity stage `structured: [0.25, 0.5, 0.75]`');
    }
    // One cost per budget: packed bytes, p50 ms, p95 ms (latency as changes against the unmodified model).
    const costsOf = (l: string, st: LayerSetting): number[] => {
      const lc = table ? latencyCost(table, l, st) : { p50Ms: 0, p95Ms: 0 };
      // Without a size budget the DP ignores the first cost: 0 spares packing every narrowed model.
      return [sizeBudget ? packedOf(l, st) : 0, lc.p50Ms, lc.p95Ms];
    };
    const budgetVector = [budgets.packedBytes, budgets.p50Ms, budgets.p95Ms];
    // Per budget (packed, p50, p95): how much a measured trial exceeded its
    // prediction. A miss of a size or latency budget is repaired by
    // allocating again under the budget less that error (the table's
    // additive assumption, or the machine's load, made the prediction
    // optimistic), not by banning a choice: bytes as measured, latency in
    // proportion (budget-correction.ts).
    let correction = [0, 0, 0];
    // The baselines' test: the budgets less the prediction error the search measured (`correction`, below), so they get the same margin.
    const fits = async (settings: Record<string, LayerSetting>) => {
      if (sizeBudget && (await predictPacked(settings)) > budgets.packedBytes - correction[0]!) return false;
      if (!table) return true;
      const p = predictLatency(table, settings);
      return p.p50Ms <= budgets.p50Ms - correction[1]! && p.p95Ms <= budgets.p95Ms - correction[2]!;
    };
    const predictedLoss = (s: Record<string, LayerSetting>) => round6(layers.reduce((n, l) => n + (choices.get(l)!.find((c) => settingLabel(c.setting) === settingLabel(s[l] ?? {}))?.loss ?? 0), 0));

    const trials: Trial[] = [];
    const scratch = join(ctx.scratchDir, 'trials');
    await mkdir(scratch, { recursive: true });
    const store = new TrialStore(resolve(ctx.recipeDir, config.resume.dir));
    const ground: TrialGround = { modelDir: inputs.model.dir, config, fit, val, sizeLimit: budgets.packedBytes, source: sourceStorage, layers, choices };
    // The baselines keep their draw (uniform stays uniform); the search re-allocates bits after pruning.
    const record = async (kind: Trial['kind'], allocated: Record<string, LayerSetting>): Promise<Trial> => {
      const t0 = performance.now();
      const dir = join(scratch, String(trials.length));
      const key = trialKey({ stage: `auto@${autoStage.version}`, model: inputs.model!.digest, calibration: sens.calibration, settings: allocated, finetune: config.finetune, ...(config.pruneSchedule ? { pruneSchedule: config.pruneSchedule } : {}), seed: ctx.seed });
      const stored = await store.get<Omit<TrialResult, 'dir' | 'latency'> & { ms: number }>(key);
      let r: TrialResult;
      if (stored) {
        await cp(stored.modelDir, dir, { recursive: true });
        r = { dir, ...stored.result };
      } else {
        await checkpoint(ctx.signal);
        r = await runTrial(ctx, ground, allocated, dir, kind === 'search' || kind === 'repair' || kind === 'explore');
        const { dir: _dir, latency: _latency, ...result } = r;
        await store.put(key, { ...result, ms: Math.round(performance.now() - t0) } as unknown as Json, dir);
      }
      const settings = r.settings;
      // Latency is timed every time (not stored with the trial): it belongs to this machine and moment, like evaluate's.
      // Side by side with the unmodified model: the measured change compares with the predicted one under the same load.
      let unmodified: LatencyPoint | undefined;
      let timed: LatencyPoint | undefined;
      let judgedAt: LatencyPoint | undefined;
      // Predicted at the machine speed before this trial's timing joins it.
      const predictedLatency = table ? predictLatency(table, settings) : undefined;
      if (budgets.latency) {
        ({ model: timed, unmodified } = await timeAgainstBase(dir, baseDir, { ...budgets.latency, maxSeconds: config.latency.trialSeconds, ...(ctx.signal ? { signal: ctx.signal } : {}) }));
        // Judged at the machine speed the predictions start from, with this timing in it: a shared machine's drift between two trials is not the model's.
        if (table?.anchorTimings) {
          const anchorTimings = [...table.anchorTimings, unmodified];
          table = { ...table, anchor: machineSpeed(anchorTimings), anchorTimings };
          judgedAt = table.anchor;
        }
        r.latency = judgedAt ? atAnchorSpeed(timed, unmodified, judgedAt) : timed;
      }
      const predictedPacked = await predictPacked(settings);
      const dropPp = round6(baseline - r.accuracy);
      const missed = [
        ...(r.packedBytes > budgets.packedBytes ? [`packed size ${fmtKb(r.packedBytes)} > ${fmtKb(budgets.packedBytes)}${r.skippedFinetune ? ' (known once the retrained survivors were clustered: centroid fine-tuning skipped)' : ''}`] : []),
        ...(r.latency && r.latency.p50Ms > budgets.p50Ms ? [`p50 ${fmtMs(r.latency.p50Ms)} > ${fmtMs(budgets.p50Ms)}`] : []),
        ...(r.latency && r.latency.p95Ms > budgets.p95Ms ? [`p95 ${fmtMs(r.latency.p95Ms)} > ${fmtMs(budgets.p95Ms)}`] : []),
        ...(dropPp > budgets.dropPp ? [`accuracy drop ${fmtHundredths(dropPp)} pp > ${fmtHundredths(budgets.dropPp)} pp`] : []),
      ];
      const t: Trial = {
        trial: trials.length,
        kind,
        key,
        settings,
        predicted: { packedBytes: predictedPacked, dropPp: predictedLoss(settings), ...(predictedLatency ? { latency: predictedLatency } : {}) },
        measured: { packedBytes: r.packedBytes, accuracy: r.accuracy, dropPp, ...(r.latency ? { latency: r.latency } : {}), ...(timed ? { timedLatency: timed } : {}), ...(unmodified ? { unmodifiedLatency: unmodified } : {}), ...(judgedAt ? { judgedAt } : {}) },
        meets: missed.length === 0,
        missed,
        ms: stored ? stored.result.ms : Math.round(performance.now() - t0),
        ...(stored ? { resumed: true } : {}),
        ...(r.bitsAfterPruning ? { bitsAfterPruning: r.bitsAfterPruning } : {}),
      };
      trials.push(t);
      const speed = timed && unmodified ? `; timed p50 ${fmtMs(timed.p50Ms)}, p95 ${fmtMs(timed.p95Ms)} beside the unmodified model's ${fmtMs(unmodified.p50Ms)}, ${fmtMs(unmodified.p95Ms)}` : '';
      const lat = t.measured.latency && t.predicted.latency ? `, p50 ${fmtMs(t.measured.latency.p50Ms)} (predicted ${fmtMs(t.predicted.latency.p50Ms)}), p95 ${fmtMs(t.measured.latency.p95Ms)} (predicted ${fmtMs(t.predicted.latency.p95Ms)}${speed})` : '';
      ctx.logger.info(`trial ${t.trial} (${kind}${stored ? ', resumed' : ''}): ${fmtKb(r.packedBytes)}${lat}, accuracy ${fmtHundredths(r.accuracy)}% (${missed.length === 0 ? 'meets the budget' : missed.join(', ')})`);
      return t;
    };

    // The search: allocate, measure, repair.
    const banned = new Set<string>();
    const seen = new Set<string>();
    const allocationNotes: string[] = [];
    /** An assignment: each searched layer's setting, the layers left as they are (an empty setting) omitted. */
    const assignment = (settingOf: (layer: string, k: number) => LayerSetting) =>
      Object.fromEntries(layers.map((l, k) => [l, settingOf(l, k)]).filter(([, s]) => Object.keys(s as object).length > 0)) as Record<string, LayerSetting>;
    /** A search or explore trial's measured size error once its survivors were retrained: the baselines, which keep their bits, are drawn under the budget less that (`fits`), as after a measured miss. */
    const noteBitsOvershoot = async (t: Trial) => {
      if (t.bitsAfterPruning) correction[0] = Math.max(correction[0]!, t.bitsAfterPruning.allocatedPacked - (await predictPacked(t.bitsAfterPruning.allocated)));
    };
    /** The allocation problem of the trial that met every budget: exploring measures its runners-up. */
    let met: { problem: AllocationProblem; open: LayerChoice[][] } | undefined;
    for (let i = 0; i < config.trials; i++) {
      // The unmodified and fastest models' predicted latency, at the machine speed the trials so far leave.
      const ends = table ? latencyEnds(table) : undefined;
      const open = layers.map((l) => choices.get(l)!.filter((c) => !banned.has(`${l}\u0000${settingLabel(c.setting)}`)));
      const effective = budgetVector.map((b, r) => Math.max(0, b - correction[r]!));
      const problem = shifted(layers.map((l, k) => ({ layer: l, options: open[k]!.map((c) => ({ loss: c.loss, costs: costsOf(l, c.setting) })) })), effective, [size.base.packed, ends?.base.p50Ms ?? 0, ends?.base.p95Ms ?? 0]);
      const solved = allocate(problem);
      // Below the fastest reachable latency nothing fits, whatever the sum of single-layer savings says.
      const floor = ends?.floor;
      const underFloor = floor ? [1, 2].filter((r) => [0, floor.p50Ms, floor.p95Ms][r]! > effective[r]!) : [];
      const a = solved.feasible && underFloor.length > 0 ? { feasible: false as const, missed: underFloor, minimumCosts: [0, floor!.p50Ms, floor!.p95Ms] } : solved;
      if (!a.feasible) {
        const amounts = (v: readonly number[]) => a.missed.map((r) => [fmtKb(v[0]!), `p50 ${fmtMs(v[1]!)}`, `p95 ${fmtMs(v[2]!)}`][r]).join(', ');
        const corrected = a.missed.some((r) => correction[r]! > 0) ? ` (the budget less the prediction error measured so far)` : '';
        allocationNotes.push(`no allocation fits ${amounts(effective)}${corrected}: the smallest reachable is ${amounts(a.minimumCosts)}`);
        // Nothing fits: the smallest model is the closest one; measure it so
        // the stage still hands downstream a model and says how far it is.
        if (trials.length === 0) {
          // Cheapest in the first budget missed (size, else latency).
          const r = a.missed[0]!;
          const cheapest = layers.map((l, k) => open[k]!.reduce((x, y) => (costsOf(l, y.setting)[r]! < costsOf(l, x.setting)[r]! ? y : x)).setting);
          await record('search', assignment((_, k) => cheapest[k]!));
        }
        break;
      }
      const settings = assignment((_, k) => open[k]![a.choice[k]!]!.setting);
      const key = JSON.stringify(settings);
      if (seen.has(key)) break;
      seen.add(key);
      const t = await record(i === 0 ? 'search' : 'repair', settings);
      await noteBitsOvershoot(t);
      if (t.meets) {
        met = { problem, open };
        break;
      }
      const measured = [t.measured.packedBytes, t.measured.latency?.p50Ms ?? 0, t.measured.latency?.p95Ms ?? 0];
      const predicted = [t.predicted.packedBytes, t.predicted.latency?.p50Ms ?? 0, t.predicted.latency?.p95Ms ?? 0];
      const over = budgetVector.flatMap((b, r) => (measured[r]! > b && measured[r]! > predicted[r]! ? [r] : []));
      if (over.length > 0) {
        correction = correctAfterMiss(budgetVector, correction, measured, predicted, over);
        continue;
      }
      // Repair: the layer whose chosen option is predicted to hurt most gets a gentler one next time.
      const worst = layers.map((l, k) => ({ l, c: open[k]![a.choice[k]!]! })).filter((x) => x.c.loss > 0).sort((x, y) => y.c.loss - x.c.loss)[0];
      if (!worst) break;
      banned.add(`${worst.l}\u0000${settingLabel(worst.c.setting)}`);
    }
    // Exploring: the runners-up of the allocation that met, measured while trials remain.
    if (met && (config.explore ?? 0) > 0) {
      // A search trial re-chooses its bits on the retrained survivors (runTrial): two allocations that differ
      // only in bits then make the same trial, so a runner-up must differ in something else.
      const trialKeyOf = (st: Record<string, LayerSetting>) =>
        JSON.stringify(rechoosesBits(config.finetune.epochs, st, budgets.packedBytes) ? Object.fromEntries(Object.entries(st).map(([l, x]) => [l, { ...x, ...(x.bits !== undefined ? { bits: 'rechosen' } : {}) }])) : st);
      const tried = new Set(trials.map((t) => trialKeyOf(t.bitsAfterPruning?.allocated ?? t.settings)));
      // In the table's order; the first is the allocation that met (already tried), like any earlier trial's.
      const { problem, open } = met;
      const ranked = rankedAllocations(problem);
      // Candidates looked at before giving up: each costs a DP solve per layer, and one differing only in bits is skipped.
      const MAX_CANDIDATES = 1000;
      for (let explored = 0, looked = 0; explored < config.explore! && trials.length < config.trials; looked++) {
        const next = ranked.next();
        if (next.done || looked === MAX_CANDIDATES) {
          allocationNotes.push(`explored ${explored} allocation(s) after the first that met: ${next.done ? 'no other allocation fits' : `none other among the next ${MAX_CANDIDATES} in the table's order`}`);
          break;
        }
        const settings = assignment((_, k) => open[k]![next.value.choice[k]!]!.setting);
        const key = trialKeyOf(settings);
        if (tried.has(key)) continue;
        tried.add(key);
        await noteBitsOvershoot(await record('explore', settings));
        explored++;
      }
    }
    const searchTrials = trials.length;

    if (config.baselines && searchTrials > 0) {
      // Uniform: the same choice everywhere; the one with the smallest predicted loss that fits.
      const labels = new Set(layers.flatMap((l) => choices.get(l)!.map((c) => settingLabel(c.setting))));
      let uniform: { settings: Record<string, LayerSetting>; loss: number } | undefined;
      for (const label of labels) {
        // A structured ratio applies to every layer that can lose units (never the output layer); the others stay dense.
        const picks = layers.map((l) => choices.get(l)!.find((c) => settingLabel(c.setting) === label) ?? (label.startsWith('u') ? choices.get(l)![0] : undefined));
        if (picks.some((p) => !p)) continue;
        const settings = assignment((_, k) => picks[k]!.setting);
        if (!(await fits(settings))) continue;
        const loss = predictedLoss(settings);
        if (!uniform || loss < uniform.loss) uniform = { settings, loss };
      }
      if (uniform) await record('uniform', uniform.settings);
      else allocationNotes.push(`no uniform setting fits ${budgetText(budgets)}`);
      // Random search: feasible assignments drawn uniformly per layer, as many as the search used.
      const random = seededRandom(ctx.seed + 17);
      for (let n = 0, draws = 0; n < searchTrials && draws < 10_000; draws++) {
        const settings = assignment((l) => choices.get(l)![Math.floor(random() * choices.get(l)!.length)]!.setting);
        if (!(await fits(settings))) continue;
        await record('random', settings);
        n++;
      }
    }

    // The best: meets the budget with the highest accuracy; else the closest (smallest total miss).
    const searched = trials.slice(0, searchTrials);
    const meeting = searched.filter((t) => t.meets).sort((a, b) => b.measured.accuracy - a.measured.accuracy);
    const over = (v: number | undefined, b: number) => (v === undefined ? 0 : Math.max(0, v / b - 1));
    const excess = (t: Trial) =>
      over(t.measured.packedBytes, budgets.packedBytes) + over(t.measured.latency?.p50Ms, budgets.p50Ms) + over(t.measured.latency?.p95Ms, budgets.p95Ms) + Math.max(0, (t.measured.dropPp - budgets.dropPp) / 100);
    const best = meeting[0] ?? [...searched].sort((a, b) => excess(a) - excess(b))[0];

    const searchDir = await ctx.outputDir('search');
    const modelDir = await ctx.outputDir('model');
    const storageRule = sourceStorageRule(artifacts);
    if (storageRule === 'mixed') ctx.logger.warn('the model came with weights quantized in a way one quantize stage cannot repeat (two dtypes, or float32 tensors larger than quantized ones): the recipe fragment stores the weights the search left alone as float32; add a quantize stage for them');
    const fragmentOptions = { finetune: config.finetune, ...(config.pruneSchedule ? { pruneSchedule: config.pruneSchedule } : {}), ...(storageRule && storageRule !== 'mixed' ? { sourceStorage: storageRule } : {}) };
    if (best) {
      await cp(join(scratch, String(best.trial)), modelDir, { recursive: true });
      await writeFile(join(searchDir, 'auto.yaml'), fragmentYaml(best.settings, fragmentOptions, `trial ${best.trial}, ${fmtKb(best.measured.packedBytes)} packed`));
    }
    await writeFile(join(searchDir, 'trials.json'), `${JSON.stringify({ budgets, baselineAccuracy: round6(baseline), ...(table ? { latencyTable: table } : {}), trials }, null, 2)}\n`);
    await writeFile(join(searchDir, 'auto.md'), summaryMarkdown(trials, budgets, baseline, allocationNotes));
    if (!best?.meets) ctx.logger.warn(best ? `no trial meets the budget; the closest is trial ${best.trial}: ${best.missed.join(', ')}` : `no trial ran: ${allocationNotes.join('; ')}`);
    return {
      outputs: { model: modelDir, search: searchDir },
      metrics: {
        met: best?.meets ?? false,
        best: best ? best.trial : null,
        missed: [...(best ? best.missed : []), ...allocationNotes],
        trials: trials.length,
        searchTrials,
        packedBytes: best ? best.measured.packedBytes : null,
        ...(table ? { latencyP50Ms: best?.measured.latency?.p50Ms ?? null, latencyP95Ms: best?.measured.latency?.p95Ms ?? null, latencyTableSeconds: table.seconds } : {}),
        accuracy: best ? best.measured.accuracy : null,
        baselineAccuracy: round6(baseline),
        // What the run report's Pareto charts draw (src/report/auto-chart.ts), from run.json alone.
        chart: {
          axes: chartAxes(ctx, config, budgets) as unknown as Json,
          trials: trials.map((t) => ({
            trial: t.trial,
            kind: t.kind,
            packedBytes: t.measured.packedBytes,
            accuracy: t.measured.accuracy,
            ...(t.measured.latency ? { p50Ms: t.measured.latency.p50Ms, p95Ms: t.measured.latency.p95Ms } : {}),
            meets: t.meets,
          })),
        },
        // The budget outcome the CLI turns into the exit code (src/contracts/budget-outcome.ts): 3 when nothing meets.
        budgets: {
          met: best?.meets ?? false,
          message: best?.meets
            ? `auto: trial ${best.trial} meets the budget (${fmtKb(best.measured.packedBytes)} packed${best.measured.latency ? `, p50 ${fmtMs(best.measured.latency.p50Ms)}, p95 ${fmtMs(best.measured.latency.p95Ms)}` : ''}, accuracy ${fmtHundredths(best.measured.accuracy)}% on the calibration split)`
            : best
              ? `auto: no trial meets the budget; closest: trial ${best.trial} (${best.missed.join(', ')})`
              : `auto: no trial ran (${allocationNotes.join('; ')})`,
        },
      },
    };
  },
});

/** One Pareto chart per device: its tightest searched resource on x (latency when it has a latency budget, else packed size). */
interface ChartAxis {
  device: string;
  axis: 'packedBytes' | 'p50Ms' | 'p95Ms';
  limit: number | null;
}

function chartAxes(ctx: StageContext, config: AutoConfig, budgets: Budgets): ChartAxis[] {
  const devices = ctx.recipe.devices as Record<string, { budget?: Record<string, number> }>;
  const names = config.devices ?? Object.keys(devices);
  const out: ChartAxis[] = names.map((device) => {
    const b = devices[device]?.budget ?? {};
    if (budgets.latency?.devices.includes(device)) {
      return b['latency_ms_p95'] !== undefined ? { device, axis: 'p95Ms', limit: b['latency_ms_p95'] } : { device, axis: 'p50Ms', limit: b['latency_ms_p50'] ?? null };
    }
    return { device, axis: 'packedBytes', limit: b['size_packed_kb'] !== undefined ? b['size_packed_kb'] * 1024 : null };
  });
  // The stage's own size budget is drawn against every device's packed-size chart, and alone when no device is named.
  if (config.budget.size_packed_kb !== undefined) {
    const own = config.budget.size_packed_kb * 1024;
    for (const a of out) if (a.axis === 'packedBytes') a.limit = Math.min(a.limit ?? Infinity, own);
    if (out.length === 0) out.push({ device: '(auto budget)', axis: 'packedBytes', limit: own });
  }
  return out;
}

/**
 * The knapsack over costs that may be negative (a structured ratio saves
 * latency, and bytes of the next layer too): per layer and resource the
 * smallest option cost moves into the base, so every option costs >= 0 as
 * allocate() requires, and every total stays the same.
 */
function shifted(layers: AllocationLayer[], budgets: number[], base: number[]): AllocationProblem {
  const b = [...base];
  const out = layers.map((l) => {
    const min = b.map((_, r) => Math.min(...l.options.map((o) => o.costs[r]!)));
    min.forEach((m, r) => (b[r] = b[r]! + m));
    return { layer: l.layer, options: l.options.map((o) => ({ loss: o.loss, costs: o.costs.map((c, r) => Math.max(0, c - min[r]!)) })) };
  });
  return { layers: out, budgets, base: b };
}

const fmtMs = (ms: number) => `${ms.toFixed(3)} ms`;

/** `17.0 KB packed, p95 1.200 ms` (the finite budgets). */
function budgetText(b: Budgets): string {
  return [
    ...(Number.isFinite(b.packedBytes) ? [`<= ${fmtKb(b.packedBytes)} packed`] : []),
    ...(Number.isFinite(b.p50Ms) ? [`p50 <= ${fmtMs(b.p50Ms)}`] : []),
    ...(Number.isFinite(b.p95Ms) ? [`p95 <= ${fmtMs(b.p95Ms)}`] : []),
  ].join(', ');
}

function summaryMarkdown(trials: readonly Trial[], budgets: Budgets, baseline: number, notes: readonly string[]): string {
  const latency = budgets.latency !== undefined;
  const ms = (p: LatencyPoint | undefined) => (p ? `${p.p50Ms.toFixed(3)} / ${p.p95Ms.toFixed(3)}` : '');
  const rows = trials.map((t) => [
    String(t.trial),
    t.kind,
    mdText(Object.entries(t.settings).map(([l, s]) => `${l}: ${settingLabel(s)}`).join(', ') || 'dense'),
    fmtKb(t.predicted.packedBytes),
    fmtKb(t.measured.packedBytes),
    ...(latency ? [ms(t.predicted.latency), ms(t.measured.latency)] : []),
    fmtHundredths(t.predicted.dropPp),
    fmtHundredths(t.measured.dropPp),
    t.meets ? 'ok' : mdText(t.missed.join('; ')),
    String(t.ms),
  ]);
  // What the bits re-allocation on retrained survivors changed (bits-after-pruning.ts).
  const rechosen = trials.flatMap((t) => {
    const b = t.bitsAfterPruning;
    const moved = b ? bitsChanges(b.allocated, t.settings) : [];
    return b && moved.length > 0 ? [`trial ${t.trial}: bits re-chosen on the retrained survivors: ${moved.join(', ')} (the allocation would have packed ${fmtKb(b.allocatedPacked)}; ${fmtKb(b.packed)})`] : [];
  });
  const where = budgets.latency ? ` (latency on ${budgets.latency.runtime}, ${budgets.latency.threads} thread(s), batch ${budgets.latency.batch})` : '';
  return [
    `Auto search: ${budgetText(budgets)}${Number.isFinite(budgets.dropPp) ? `, accuracy drop <= ${fmtHundredths(budgets.dropPp)} pp` : ''}${where}; reference accuracy ${fmtHundredths(baseline)}% on the calibration split.`,
    '',
    ...mdTable(
      ['trial', 'kind', 'settings', 'packed (predicted)', 'packed', ...(latency ? ['p50 / p95 ms (predicted)', 'p50 / p95 ms'] : []), 'drop pp (predicted)', 'drop pp', 'verdict', 'ms'],
      rows,
      ['r', 'l', 'l', 'r', 'r', ...(latency ? (['r', 'r'] as const) : []), 'r', 'r', 'l', 'r'],
    ),
    ...(notes.length + rechosen.length > 0 ? ['', ...[...rechosen, ...notes].map((n) => `- ${mdText(n)}`)] : []),
    '',
  ].join('\n');
}
