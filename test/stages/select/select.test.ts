/**
 * The select stage on small real models: a trained MLP [16] and 50%- and
 * 90%-pruned copies, measured by a real evaluate node (no latency), then
 * selected under budgets that only some candidates meet.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef, Json, StageResult, UpstreamOutputs } from '../../../src/plugin.js';
import { evaluateStage } from '../../../src/stages/evaluate/evaluate.js';
import { selectStage } from '../../../src/stages/select/select.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, prunedCopy, runWithDevices, trainSmallMlp, upstream } from '../evaluate/evaluate-helpers.js';

describe('select stage', () => {
  let h: Harness;
  const models: Record<string, ArtifactRef> = {};
  let devices: Record<string, Json>;
  let ups: UpstreamOutputs[];
  let evalNode: UpstreamOutputs;
  let evalMetrics: any;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    const trained = await trainSmallMlp(h);
    models['prune[sparsity=0]'] = trained;
    models['prune[sparsity=0.5]'] = await prunedCopy(h, trained, 0.5, 'p50');
    models['prune[sparsity=0.9]'] = await prunedCopy(h, trained, 0.9, 'p90');
    ups = Object.entries(models).map(([node, m]) => upstream(node, 'prune', m, { sparsity: Number(node.slice(15, -1)) }));
    // A first evaluate run (no budgets) to learn the sizes, then budgets placed between them.
    const probe = await runWithDevices(h, evaluateStage, { latency: { measure: 'never' } }, inputsOf(...ups), {});
    const c = (probe.metrics as any).candidates;
    const gz = (n: string) => c[n].sizeBytes.gzip / 1024;
    const acc = (n: string) => c[n].accuracy as number;
    // phone: the two pruned models fit (gzip), the dense one does not.
    // strict: gzip below even the 90%-pruned model (plus an easy accuracy limit): nobody passes.
    devices = {
      phone: { runtime: 'wasm', budget: { size_gzip_kb: (gz('prune[sparsity=0]') + gz('prune[sparsity=0.5]')) / 2 } },
      strict: { runtime: 'wasm', budget: { size_gzip_kb: gz('prune[sparsity=0.9]') - 0.5, accuracy_min: Math.max(acc('prune[sparsity=0.5]'), acc('prune[sparsity=0.9]')) - 50 } },
    };
    const r = await runWithDevices(h, evaluateStage, { latency: { measure: 'never' } }, inputsOf(...ups), devices);
    evalMetrics = r.metrics;
    evalNode = { node: 'eval', stage: 'eval', matrix: {}, outputs: { report: await h.artifact(r.outputs.report!) }, metrics: r.metrics! };
  }, 180000);
  afterAll(() => h.cleanup());

  const select = (config: Record<string, Json>, inputs = inputsOf(...ups, evalNode)): Promise<StageResult & { logs: string[] }> =>
    runWithDevices(h, selectStage, config, inputs, devices);

  test('picks the smallest (packed) candidate meeting the phone budget and copies its model', async () => {
    const c = evalMetrics.candidates;
    expect(c['prune[sparsity=0.9]'].sizeBytes.packed).toBeLessThan(c['prune[sparsity=0.5]'].sizeBytes.packed);
    const r = await select({ devices: ['phone'] });
    const m = r.metrics as any;
    expect(m.chosen).toBe('prune[sparsity=0.9]');
    expect(m.objective).toBe('size_packed');
    expect(m.objectiveValue).toBe(c['prune[sparsity=0.9]'].sizeBytes.packed);
    expect(m.evaluate).toBe('eval');
    expect(m.budgets).toMatchObject({ met: true, best: 'prune[sparsity=0.9]', chosen: 'prune[sparsity=0.9]', passing: ['prune[sparsity=0.5]', 'prune[sparsity=0.9]'] });
    expect(m.candidates['prune[sparsity=0]']).toMatchObject({ passes: false, missed: ['phone size_gzip_kb'] });
    expect(m.verdicts.phone.ok).toBe(true);

    // The output is the chosen model's directory plus selection.json.
    const src = models['prune[sparsity=0.9]']!.dir;
    const out = r.outputs.model!;
    const srcFiles = (await readdir(src)).sort();
    expect((await readdir(out)).sort()).toEqual([...srcFiles, 'selection.json'].sort());
    for (const f of srcFiles) expect((await readFile(join(out, f))).equals(await readFile(join(src, f)))).toBe(true);
    const sel = JSON.parse(await readFile(join(out, 'selection.json'), 'utf8'));
    expect(sel.source).toMatchObject({ node: 'prune[sparsity=0.9]', stage: 'prune', digest: models['prune[sparsity=0.9]']!.digest });
    expect(sel.chosen).toBe('prune[sparsity=0.9]');
    const model = await h.engine.loadModel(out);
    model.dispose();
  });

  test('objective accuracy picks the most accurate passing candidate', async () => {
    const c = evalMetrics.candidates;
    const best = c['prune[sparsity=0.5]'].accuracy >= c['prune[sparsity=0.9]'].accuracy ? 'prune[sparsity=0.5]' : 'prune[sparsity=0.9]';
    const m = (await select({ devices: ['phone'], objective: 'accuracy', evaluate: 'eval' })).metrics as any;
    expect(m.chosen).toBe(best);
    expect(m.objectiveUnit).toBe('%');
  });

  test('no candidate meets every budget: the closest is output, met is false (exit 3), the run does not fail', async () => {
    const r = await select({}); // default: every device evaluate judged (phone and strict)
    const m = r.metrics as any;
    expect(m.devices).toEqual(['phone', 'strict']);
    expect(m.budgets.met).toBe(false);
    expect(m.budgets.best).toBeNull();
    expect(evalMetrics.budgets.closest.candidate).toBe('prune[sparsity=0.9]');
    expect(m.chosen).toBe(evalMetrics.budgets.closest.candidate);
    expect(m.budgets.closest).toEqual(evalMetrics.budgets.closest);
    expect(m.budgets.message).toContain('no candidate meets every budget; closest: prune[sparsity=0.9]');
    expect(r.logs.some((l) => l.startsWith('warn select (devices phone, strict): no candidate meets every budget'))).toBe(true);
    expect(await readdir(r.outputs.model!)).toContain('model.json');
  });

  test('Pareto front over the real candidates matches a brute-force check', async () => {
    const m = (await select({ devices: ['phone'], objective: 'size_gzip' })).metrics as any;
    const c = evalMetrics.candidates;
    const nodes = Object.keys(c);
    const dominated = (n: string) =>
      nodes.some((o) => o !== n && c[o].sizeBytes.gzip <= c[n].sizeBytes.gzip && c[o].accuracy >= c[n].accuracy && (c[o].sizeBytes.gzip < c[n].sizeBytes.gzip || c[o].accuracy > c[n].accuracy));
    const expected = nodes.filter((n) => !dominated(n)).sort((x, y) => c[x].sizeBytes.gzip - c[y].sizeBytes.gzip);
    expect(m.pareto.size.sizeKind).toBe('gzip');
    expect(m.pareto.size.front.map((p: any) => p.node)).toEqual(expected);
    expect(m.pareto.size.front[0].node).toBe('prune[sparsity=0.9]'); // the smallest is always on the front
    expect(m.pareto.latency).toBeNull(); // latency was not measured
  });

  test('errors at their path: unknown device, latency objective without latency, no evaluate upstream', async () => {
    const dev = await select({ devices: ['watch'] }).catch((e) => e);
    expect(dev).toBeInstanceOf(StageConfigError);
    expect(dev.path).toEqual(['devices', 0]);
    expect(dev.message).toBe('device `watch` was not judged by eval; it judged: phone, strict');

    const lat = await select({ objective: 'latency_p95' }).catch((e) => e);
    expect(lat).toBeInstanceOf(StageConfigError);
    expect(lat.path).toEqual(['objective']);

    const noEval = await select({}, inputsOf(...ups)).catch((e) => e);
    expect(noEval).toBeInstanceOf(StageConfigError);
    expect(noEval.message).toContain('select needs an evaluate node');

    const named = await select({ evaluate: 'nope' }).catch((e) => e);
    expect(named.path).toEqual(['evaluate']);

    const noModels = await select({}, inputsOf(evalNode)).catch((e) => e);
    expect(noModels).toBeInstanceOf(StageConfigError);
    expect(noModels.hints[0]).toContain('needs: [prune, eval]');

    // Metrics that are not an evaluation (a plugin's, an older shape): the decoder's error, not a guess.
    const bad = structuredClone(evalNode);
    (bad.metrics['candidates'] as any)['prune[sparsity=0.5]'].sizeBytes.packed = null;
    const notContract = await select({}, inputsOf(...ups, bad)).catch((e) => e);
    expect(notContract).toBeInstanceOf(StageConfigError);
    expect(notContract.message).toBe(
      'eval did not write an evaluation select can read: metrics of eval.candidates["prune[sparsity=0.5]"].sizeBytes.packed: Expected a number, got null',
    );
  });
});
