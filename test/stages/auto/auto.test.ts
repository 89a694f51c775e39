/**
 * The auto stage on a small MLP (2,000 MNIST images, 1 epoch): it meets a
 * packed-size budget with the size it predicted, runs the uniform and
 * random baselines with as many trials, writes a recipe fragment that the
 * real stages accept and that reproduces the model's bytes, repairs and
 * reports the closest trial when the accuracy target cannot be met, and
 * says why when no allocation fits.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { prepareRecipe } from '../../../src/api/prepare.js';
import type { Json, StageInputs } from '../../../src/plugin.js';
import { autoStage } from '../../../src/stages/auto/auto.js';
import type { Trial } from '../../../src/stages/auto/auto.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { shareStage } from '../../../src/stages/share/share.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { sensitivityStage } from '../../../src/stages/sensitivity/sensitivity.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { packModel } from '../../../src/formats/packed.js';
import { readModelArtifacts } from '../../../src/engine/model-io.js';
import { splitWeights } from '../../../src/formats/weight-quantization.js';
import { searchedKernels, sizeModel } from '../../../src/stages/auto/cost-model.js';
import { createStageHarness, StageConfigError } from '../../../src/plugin.js';
import { budgetOutcomeOf } from '../../../src/contracts/budget-outcome.js';
import { createHarness, modelInput, SMALL_MNIST } from '../harness.js';
import type { Harness } from '../harness.js';

interface TrialsFile {
  budgets: { packedBytes: number; dropPp: number | null };
  trials: Trial[];
}

describe('auto stage', () => {
  let h: Harness;
  let trained: string;
  let inputs: StageInputs;
  const readTrials = async (dir: string) => JSON.parse(await readFile(join(dir, 'trials.json'), 'utf8')) as TrialsFile;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [32] } } });
    trained = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
    const sens = await h.run(sensitivityStage, { fraction: 0.1, samples: 200, sparsity: [0.5, 0.8, 0.95], bits: [6, 4, 2], dtype: ['uint8'] }, modelInput(await h.artifact(trained)));
    const model = await h.artifact(trained);
    inputs = {
      model,
      upstream: [
        { node: 'model', stage: 'model', matrix: {}, outputs: { model }, metrics: {} },
        { node: 'sensitivity', stage: 'sensitivity', matrix: {}, outputs: { sensitivity: await h.artifact(sens.outputs.sensitivity!) }, metrics: {} },
      ],
    };
  }, 120_000);
  afterAll(() => h.cleanup());

  test('meets a packed-size budget with the size it predicted; baselines with the same number of trials', async () => {
    // The float model packs to about 100 KB; ask for 12 KB.
    const r = await h.run(autoStage, { budget: { size_packed_kb: 12 }, finetune: { epochs: 1, learningRate: 0.001 } }, inputs);
    const m = r.metrics as Record<string, Json>;
    expect(m.met).toBe(true);
    expect(budgetOutcomeOf(m, 'auto')).toEqual({ met: true, message: expect.stringMatching(/^auto: trial 0 meets the budget \([\d.]+ KB packed, accuracy \d+\.\d\d% on the calibration split\)$/) });
    const { trials } = await readTrials(r.outputs.search!);
    const search = trials.filter((t) => t.kind === 'search' || t.kind === 'repair');
    expect(search).toHaveLength(1);
    expect(trials.filter((t) => t.kind === 'uniform')).toHaveLength(1);
    expect(trials.filter((t) => t.kind === 'random')).toHaveLength(search.length);
    for (const t of trials) {
      expect(t.measured.packedBytes).toBe(t.predicted.packedBytes);
      expect(t.measured.packedBytes).toBeLessThanOrEqual(12 * 1024);
    }
    // The model output is the best trial, byte for byte what was measured.
    expect((await packModel(r.outputs.model!)).breakdown.totalBytes).toBe(m.packedBytes);
    expect(await readFile(join(r.outputs.search!, 'auto.md'), 'utf8')).toContain('| trial | kind | settings |');
  }, 120_000);

  test('explore: after the first trial meets, the runners-up are measured; the most accurate meeting one is the model; random gets as many trials', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 12 }, trials: 3, explore: 2, finetune: { epochs: 0 } }, inputs);
    const m = r.metrics as Record<string, Json>;
    const { trials } = await readTrials(r.outputs.search!);
    const search = trials.filter((t) => t.kind === 'search' || t.kind === 'repair' || t.kind === 'explore');
    expect(search.map((t) => t.kind)).toEqual(['search', 'explore', 'explore']);
    expect(new Set(search.map((t) => JSON.stringify(t.settings))).size).toBe(3);
    // Runners-up in the table's order: no explored allocation is predicted to lose less than the first.
    for (const t of search.slice(1)) expect(t.predicted.dropPp).toBeGreaterThanOrEqual(search[0]!.predicted.dropPp);
    expect(trials.filter((t) => t.kind === 'random')).toHaveLength(3);
    const best = search.filter((t) => t.meets).sort((a, b) => b.measured.accuracy - a.measured.accuracy)[0]!;
    expect(m.best).toBe(best.trial);
    expect(m.searchTrials).toBe(3);
  }, 120_000);

  test('explore with bits re-chosen after pruning: a runner-up differs from every tried allocation in more than its bits', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 12 }, trials: 3, explore: 2, baselines: false, finetune: { epochs: 2, learningRate: 0.001 } }, inputs);
    const { trials } = await readTrials(r.outputs.search!);
    expect(trials.map((t) => t.kind)).toEqual(['search', 'explore', 'explore']);
    const withoutBits = (t: Trial) => JSON.stringify(Object.entries(t.bitsAfterPruning?.allocated ?? t.settings).map(([l, x]) => [l, { ...x, bits: x.bits !== undefined }]));
    expect(new Set(trials.map(withoutBits)).size).toBe(3);
  }, 120_000);

  test('the recipe fragment validates and reproduces the model (no fine-tuning: bit-exact)', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 10 }, finetune: { epochs: 0 }, baselines: false }, inputs);
    const fragment = parse(await readFile(join(r.outputs.search!, 'auto.yaml'), 'utf8')) as { stages: { id: string; uses: string; with: Record<string, Json> }[] };
    expect(fragment.stages.length).toBeGreaterThan(0);
    // Pasted into a recipe, it validates (core schema, each stage's schema, layer patterns vs the model).
    const recipeFile = join(h.dir, 'fragment-recipe.yaml');
    await writeFile(recipeFile, stringify({ version: 1, name: 'fragment', model: { from: trained }, data: { train: SMALL_MNIST.train }, stages: fragment.stages }));
    const prepared = await prepareRecipe(recipeFile);
    expect(prepared.ok ? 'ok' : JSON.stringify(prepared.diagnostics)).toBe('ok');
    const stages = { prune: pruneStage, share: shareStage, quantize: quantizeStage } as const;
    let ref = await h.artifact(trained);
    for (const s of fragment.stages) {
      // h.run validates `with:` against the stage's schema first.
      const out = await h.run(stages[s.uses as keyof typeof stages], s.with, modelInput(ref));
      ref = await h.artifact(out.outputs.model!);
    }
    const a = splitWeights(await readModelArtifacts(ref.dir));
    const b = splitWeights(await readModelArtifacts(r.outputs.model!));
    expect(a.map((w) => w.spec)).toEqual(b.map((w) => w.spec));
    a.forEach((w, i) => expect(Buffer.from(w.bytes).equals(Buffer.from(b[i]!.bytes))).toBe(true));
  }, 120_000);

  test('an accuracy target it cannot meet: repairs within the trial limit, then reports the closest trial', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 4, accuracy_drop_pp: 0 }, trials: 3, baselines: false, finetune: { epochs: 0 } }, inputs);
    const m = r.metrics as Record<string, Json>;
    expect(m.met).toBe(false);
    const { trials } = await readTrials(r.outputs.search!);
    expect(trials.map((t) => t.kind)).toEqual(['search', 'repair', 'repair'].slice(0, trials.length));
    expect(trials.length).toBeGreaterThan(1);
    expect((m.missed as string[])[0]).toMatch(/^accuracy drop \d+\.\d\d pp > 0\.00 pp$/);
    // What the CLI reads for the exit code: not met, so `run` exits 3.
    expect(budgetOutcomeOf(m, 'auto')).toEqual({ met: false, message: expect.stringMatching(/^auto: no trial meets the budget; closest: trial \d \(accuracy drop \d+\.\d\d pp > 0\.00 pp\)$/) });
  }, 120_000);

  test('no allocation fits: measures the smallest model as the closest, says the smallest reachable size, exit 3', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 0.5 }, baselines: false }, inputs);
    const m = r.metrics as Record<string, Json>;
    expect(m.met).toBe(false);
    expect(m.trials).toBe(1);
    const missed = m.missed as string[];
    expect(missed).toHaveLength(2);
    expect(missed[0]).toMatch(/^packed size ([\d.]+) KB > 0\.5 KB$/);
    expect(missed[1]).toMatch(/^no allocation fits 0\.5 KB: the smallest reachable is ([\d.]+) KB$/);
    // The measured smallest model is the smallest the size model said was reachable.
    expect(missed[0]!.match(/([\d.]+) KB >/)![1]).toBe(missed[1]!.match(/reachable is ([\d.]+) KB/)![1]);
    expect(budgetOutcomeOf(m, 'auto')).toMatchObject({ met: false });
    expect((await packModel(r.outputs.model!)).breakdown.totalBytes).toBe(m.packedBytes);
  }, 60_000);

  test('an interrupted search resumes without re-running a finished trial; a rerun is all resumed', async () => {
    const raw = await createStageHarness({ backend: 'wasm', data: SMALL_MNIST });
    try {
      const config = { budget: { size_packed_kb: 4, accuracy_drop_pp: 0 }, trials: 3, baselines: false, finetune: { epochs: 0 }, resume: { dir: join(h.dir, 'resume-test') } };
      // Run 1: interrupted as soon as trial 0 is recorded.
      const c = raw.context();
      const ac = new AbortController();
      const interrupted = { ...c, signal: ac.signal, logger: { ...c.logger, info: (message: string, fields?: Record<string, Json>) => {
        c.logger.info(message, fields);
        if (message.startsWith('trial 0 ')) ac.abort();
      } } };
      await expect(raw.runIn(interrupted, autoStage, config, inputs)).rejects.toThrow();
      // Run 2: trial 0 comes from the store, the rest run.
      const r2 = await h.run(autoStage, config, inputs);
      const t2 = (await readTrials(r2.outputs.search!)).trials;
      expect(t2.length).toBeGreaterThan(1);
      expect(t2.map((t) => t.resumed === true)).toEqual(t2.map((_, i) => i === 0));
      // Run 3: nothing runs; same results.
      const r3 = await h.run(autoStage, config, inputs);
      const t3 = (await readTrials(r3.outputs.search!)).trials;
      expect(t3.every((t) => t.resumed === true)).toBe(true);
      expect(t3.map((t) => t.measured)).toEqual(t2.map((t) => t.measured));
    } finally {
      await raw.cleanup();
    }
  }, 120_000);

  test('a trial that prunes and shares retrains in two phases; every kernel leaves with its zeros and clusters held, and the fragment splits the epochs the same way', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 12 }, baselines: false, finetune: { epochs: 3, learningRate: 0.001, schedule: { kind: 'cosine', minLearningRate: 0.00001 } } }, inputs);
    const { trials } = await readTrials(r.outputs.search!);

    const best = trials[(r.metrics as Record<string, Json>).best as number]!;
    const layers = Object.entries(best.settings);
    expect(layers.some(([, st]) => st.sparsity !== undefined) && layers.some(([, st]) => st.bits !== undefined)).toBe(true);
    const weights = splitWeights(await readModelArtifacts(r.outputs.model!));
    for (const [layer, st] of layers) {
      const kernel = weights.find((w) => w.spec.name === `${layer}/kernel`)!;
      const values = new Float32Array(kernel.bytes.buffer.slice(kernel.bytes.byteOffset, kernel.bytes.byteOffset + kernel.bytes.byteLength));
      const zeros = values.filter((x) => x === 0).length;
      if (st.sparsity !== undefined) expect(zeros).toBe(Math.round(st.sparsity * values.length));
      if (st.bits !== undefined) expect(new Set(values.filter((x) => x !== 0)).size).toBeLessThanOrEqual(2 ** st.bits);
    }
    const fragment = parse(await readFile(join(r.outputs.search!, 'auto.yaml'), 'utf8')) as { stages: { uses: string; with: { finetune?: Record<string, Json> } }[] };
    expect(fragment.stages.filter((st) => st.uses !== 'quantize').map((st) => [st.uses, st.with.finetune?.epochs])).toEqual([['prune', 2], ['share', 1]]);
    // Each stage retrains with the trials' settings, not the stages' defaults (a 1e-4 rate would train another model), and validates.
    for (const st of fragment.stages.filter((x) => x.uses !== 'quantize')) expect(st.with.finetune).toMatchObject({ learningRate: 0.001, optimizer: 'adam', batchSize: 64, data: 'train', schedule: { kind: 'cosine', minLearningRate: 0.00001 } });
    // Each stage spells its schedule out: no YAML anchors or aliases for the object the two stages share.
    expect(await readFile(join(r.outputs.search!, 'auto.yaml'), 'utf8')).not.toMatch(/[&*]a\d/);
    const recipeFile = join(h.dir, 'fragment-finetune-recipe.yaml');
    await writeFile(recipeFile, stringify({ version: 1, name: 'fragment', model: { from: trained }, data: { train: SMALL_MNIST.train }, stages: fragment.stages }));
    const prepared = await prepareRecipe(recipeFile);
    expect(prepared.ok ? 'ok' : JSON.stringify(prepared.diagnostics)).toBe('ok');
    // Its bits were re-allocated on the retrained survivors, where the packed size is exact: the stored model packs to it.
    expect(best.bitsAfterPruning).toBeDefined();
    expect(best.measured.packedBytes).toBe(best.bitsAfterPruning!.packed);
    expect(best.measured.packedBytes).toBeLessThanOrEqual(12 * 1024);
    expect(Object.keys(best.bitsAfterPruning!.allocated).sort()).toEqual(Object.keys(best.settings).sort());
  }, 120_000);

  test('with a pruning schedule the sparsities rise while the survivors retrain: every kernel leaves at its allocated sparsity, and the fragment\'s prune stage gets the schedule cut to its phase', async () => {
    const r = await h.run(autoStage, { budget: { size_packed_kb: 12 }, baselines: false, pruneSchedule: { epochs: 5, frequency: 10 }, finetune: { epochs: 3, learningRate: 0.001 } }, inputs);
    const { trials } = await readTrials(r.outputs.search!);
    const best = trials[(r.metrics as Record<string, Json>).best as number]!;
    const weights = splitWeights(await readModelArtifacts(r.outputs.model!));
    const sparse = Object.entries(best.settings).filter(([, st]) => st.sparsity !== undefined);
    expect(sparse.length).toBeGreaterThan(0);
    for (const [layer, st] of sparse) {
      const kernel = weights.find((w) => w.spec.name === `${layer}/kernel`)!;
      const values = new Float32Array(kernel.bytes.buffer.slice(kernel.bytes.byteOffset, kernel.bytes.byteOffset + kernel.bytes.byteLength));
      expect(values.filter((x) => x === 0).length).toBe(Math.round(st.sparsity! * values.length));
    }
    const fragment = parse(await readFile(join(r.outputs.search!, 'auto.yaml'), 'utf8')) as { stages: { uses: string; with: { schedule?: Json; finetune?: Record<string, Json> } }[] };
    const prune = fragment.stages.find((st) => st.uses === 'prune')!;
    // 3 epochs: 2 retrain the survivors (the ramp, cut from 5 to 2), 1 the centroids.
    expect(prune.with.schedule).toEqual({ kind: 'polynomial', epochs: 2, frequency: 10, initialSparsity: 0 });
    expect(prune.with.finetune?.epochs).toBe(2);
    const recipeFile = join(h.dir, 'fragment-schedule-recipe.yaml');
    await writeFile(recipeFile, stringify({ version: 1, name: 'fragment', model: { from: trained }, data: { train: SMALL_MNIST.train }, stages: fragment.stages }));
    const prepared = await prepareRecipe(recipeFile);
    expect(prepared.ok ? 'ok' : JSON.stringify(prepared.diagnostics)).toBe('ok');
  }, 120_000);

  test('a pruning schedule without fine-tuning is a located error', async () => {
    const err = await h.run(autoStage, { budget: { size_packed_kb: 12 }, pruneSchedule: { epochs: 2 } }, inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).path).toEqual(['pruneSchedule']);
    expect((err as StageConfigError).message).toBe('`pruneSchedule` raises sparsity while the trials retrain, and `finetune.epochs` is 0');
  });

  test('retrained survivors cluster into a larger packed size than predicted: when even the fewest bits miss the budget once clustered, the trial skips centroid fine-tuning and says so', async () => {
    // The budget is the smallest model on the trained weights (every layer at 95% and 2 bits): the
    // search must take it, and its retrained survivors pack larger whatever bits are re-chosen.
    const sens = JSON.parse(await readFile(join(inputs.upstream[1]!.outputs.sensitivity!.dir, 'sensitivity.json'), 'utf8')) as { layers: string[] };
    const artifacts = await readModelArtifacts(trained);
    const smallest = sizeModel(artifacts, searchedKernels(artifacts, sens.layers)).predict(Object.fromEntries(sens.layers.map((l) => [l, { sparsity: 0.95, bits: 2 }]))).packed;
    const r = await h.run(autoStage, { budget: { size_packed_kb: (smallest + 1) / 1024 }, trials: 2, baselines: false, finetune: { epochs: 2, learningRate: 0.001 } }, inputs);
    const { trials } = await readTrials(r.outputs.search!);
    const skipped = trials.filter((t) => t.missed.some((m) => m.endsWith('(known once the retrained survivors were clustered: centroid fine-tuning skipped)')));
    expect(skipped.length).toBeGreaterThan(0);
    for (const t of skipped) {
      expect(t.predicted.packedBytes).toBeLessThanOrEqual(smallest + 1);
      expect(t.measured.packedBytes).toBeGreaterThan(smallest + 1);
      expect(t.bitsAfterPruning!.packed).toBe(t.measured.packedBytes);
      expect(t.meets).toBe(false);
      // What was measured is the stored model.
      expect((await packModel(join(h.dir, '.modelpress/auto-trials', t.key, 'model'))).breakdown.totalBytes).toBe(t.measured.packedBytes);
    }
  }, 120_000);

  test('a model brought quantized (uint8 shards) stays so where the search gives no dtype: every trial packs to the size it predicted', async () => {
    const q = (await h.run(quantizeStage, { weights: 'uint8', minSize: 1 }, modelInput(await h.artifact(trained)))).outputs.model!;
    const source = await h.artifact(q);
    const sens = await h.run(sensitivityStage, { fraction: 0.1, samples: 200, sparsity: [0.5, 0.9], bits: [4], dtype: [] }, modelInput(source));
    const quantizedInputs: StageInputs = {
      model: source,
      upstream: [
        { node: 'model', stage: 'model', matrix: {}, outputs: { model: source }, metrics: {} },
        { node: 'sensitivity', stage: 'sensitivity', matrix: {}, outputs: { sensitivity: await h.artifact(sens.outputs.sensitivity!) }, metrics: {} },
      ],
    };
    const before = (await packModel(q)).breakdown.totalBytes;
    const r = await h.run(autoStage, { budget: { size_packed_kb: (0.6 * before) / 1024 }, finetune: { epochs: 0 }, trials: 2 }, quantizedInputs);
    const { trials } = await readTrials(r.outputs.search!);
    expect(trials.length).toBeGreaterThanOrEqual(2);
    for (const t of trials) expect(t.measured.packedBytes).toBe(t.predicted.packedBytes);
    // Every tensor still carries its uint8 quantization (none came float32, none was given another dtype).
    const specs = (await readModelArtifacts(r.outputs.model!)).weightSpecs!;
    expect(specs.map((w) => w.quantization?.dtype)).toEqual(specs.map(() => 'uint8'));
  }, 120_000);
});
