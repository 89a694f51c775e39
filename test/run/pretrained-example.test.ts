/**
 * examples/pretrained/recipe.yaml cannot rot: a reduced copy of it runs end
 * to end through the real CLI on test/fixtures/models/mobilenet-tiny (the
 * 5-block MobileNetV2 slice: depthwise, BN, ReLU6, two residual Adds, the
 * same tfjs-converter Keras 2 layout and uint8 weights as the example's
 * model).
 *
 * The copy is made from the example file itself, changing only what makes
 * it fast: the model directory, the data slices (64 / 48 digits at the tiny
 * model's 16x16), no browser device (the browser path has its own tests in
 * test/browser/), a shorter latency measurement and budgets any working
 * candidate meets (the budget keys stay, so each is still judged). Every
 * stage, its options and the edges between them are the example's: a stage
 * added to or renamed in the example is run here too.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { decodeEvaluation } from '../../src/contracts/evaluation.js';
import type { Json } from '../../src/plugin.js';
import { runCli } from '../cli/run-cli.js';
import { REPO_ROOT, readRecord } from './helpers.js';

interface Recipe {
  model: { from: string };
  data: Record<string, Record<string, unknown>>;
  devices: Record<string, { budget?: Record<string, number> }>;
  stages: { id: string; uses: string; needs?: string[]; with?: Record<string, unknown> }[];
}

/** The example, made small (see the file comment for what changes and why). */
function reduce(example: Recipe): Recipe {
  const r = structuredClone(example);
  r.model.from = './model';
  r.data['train'] = { ...r.data['train'], limit: 64, size: [16, 16] };
  r.data['test'] = { ...r.data['test'], limit: 48, size: [16, 16] };
  delete r.devices['browser'];
  r.devices['phone']!.budget = { size_packed_kb: 300, latency_ms_p95: 1000, accuracy_drop_pp: 100, agreement_min: 0 };
  for (const s of r.stages) {
    const w = s.with ?? {};
    if (Array.isArray(w['devices'])) w['devices'] = (w['devices'] as string[]).filter((d) => d !== 'browser');
    if (w['latency'] !== undefined) w['latency'] = { maxSeconds: 0.3 };
    if (w['finetune'] !== undefined) w['finetune'] = { ...(w['finetune'] as object), batchSize: 32 };
  }
  return r;
}

describe('examples/pretrained (reduced to the mobilenet-tiny fixture)', () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  // 9 stage workers, each loading tfjs on wasm first: about a minute on an
  // idle 2-core machine, 3 minutes with 8 engineers' tests running beside it.
  test('quantizes, prunes (unstructured and through the residual Adds), shares, evaluates against the model, selects and exports', async () => {
    const example = parse(await readFile(join(REPO_ROOT, 'examples', 'pretrained', 'recipe.yaml'), 'utf8')) as Recipe;
    expect(example.model.from).toBe('./mobilenet-v2-mnist');
    dir = await mkdtemp(join(tmpdir(), 'mp-pretrained-'));
    await cp(join(REPO_ROOT, 'test', 'fixtures', 'models', 'mobilenet-tiny'), join(dir, 'model'), { recursive: true });
    await writeFile(join(dir, 'recipe.yaml'), stringify(reduce(example)));

    const run = await runCli(['run', 'recipe.yaml', '--out', 'out', '--cache-dir', 'cache', '--jobs', '2', '--backend', 'wasm'], {
      cwd: dir,
      timeoutMs: 280_000,
    });
    // stdout on failure: it names the stage that failed and why.
    expect([run.code, run.stderr, run.code === 0 ? '' : run.stdout]).toEqual([0, '', '']);
    const ids = example.stages.map((s) => s.id);
    expect(run.stdout).toContain(`succeeded: ${ids.length + 1} ran, 0 cached, 0 failed, 0 skipped`);
    const record = await readRecord(join(dir, 'out'));
    expect(record.nodes.map((n) => n.id).sort()).toEqual(['model', ...ids].sort());
    const metrics = (id: string) => record.nodes.find((n) => n.id === id)!.metrics as Record<string, Json>;

    // Unstructured: half of every kernel is zero, fine-tuned with the zeros held.
    expect(metrics('prune')['sparsity']).toBeCloseTo(0.5, 2);
    expect(metrics('prune')['finetune']).toMatchObject({ epochs: 1 });
    // Structured: filters physically removed through the residual blocks.
    const pf = metrics('prune-filters');
    expect(pf['paramsAfter'] as number).toBeLessThan(pf['paramsBefore'] as number);
    expect(pf['macsAfter'] as number).toBeLessThan(pf['macsBefore'] as number);

    const decoded = decodeEvaluation(metrics('eval'));
    if (!decoded.ok) throw new Error(decoded.error);
    const e = decoded.value;
    expect(e.reference).toBe('model');
    expect(e.examples).toBe(48);
    // The original and every model evaluate needs in the example (evaluate lists them sorted).
    const evalNeeds = example.stages.find((s) => s.id === 'eval')!.needs!;
    expect(e.candidates.map((c) => c.node)).toEqual([...evalNeeds].sort());
    expect(evalNeeds).toEqual(['model', 'quantize', 'prune', 'prune-filters', 'share', 'share-uint8']);
    for (const c of e.candidates) {
      expect(c.agreement?.top1).toEqual(expect.any(Number));
      expect(c.latency['phone']).toMatchObject({ measured: true });
    }
    expect(e.candidates[0]!.agreement!.top1).toBe(100);
    // Folding BN and uint8 must not change what the model predicts much.
    expect(e.candidates.find((c) => c.node === 'quantize')!.agreement!.top1).toBeGreaterThanOrEqual(90);

    const chosen = metrics('select')['chosen'] as string;
    expect(e.candidates.filter((c) => c.judged).map((c) => c.node)).toContain(chosen);
    // Stock tfjs and the packed container, as `format: both` promises.
    const exported = (await readdir(join(dir, 'out', 'artifacts', 'export'), { recursive: true })).map((f) => f.split(/[\\/]/).pop());
    expect(exported).toEqual(expect.arrayContaining(['model.json', 'model.mpk']));
  }, 300_000);
});
