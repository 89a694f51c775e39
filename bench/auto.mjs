/**
 * The automatic-compression benchmark (issue 17): per scenario and seed,
 * train the model, run `sensitivity` + `auto` (search, uniform baseline,
 * random search with as many trials) with the CLI, then evaluate every
 * trial's model on the MNIST test set (the search only saw the calibration
 * split). Writes bench/results/auto.json and auto.md: per scenario the test
 * error of search / uniform / best random, their packed sizes, the mean and
 * seed-to-seed spread, whether search beats uniform by more than the spread,
 * and the search's cost (trials, wall time) against the anchors' episodes
 * (AMC 800, HAQ 600, Intel Neural Compressor up to 100).
 *
 * Latency scenario (lenet5-p95): the budget is a p95 on wasm, set to a
 * fraction of the unmodified LeNet-5's p95 measured on this machine first
 * (latency does not depend on the weights; an absolute ms budget would not
 * travel between machines). Only structured ratios move latency, so the
 * sensitivity sweep adds `structured: [0.25, 0.5, 0.75]`; uniform structured
 * pruning reaches the budget by narrowing every layer, the search by
 * narrowing the cheap ones. Rows carry predicted vs measured p50/p95.
 *
 *   npm run build && node bench/auto.mjs [--scenarios a,b] [--seeds 1,2,3]
 *     [--train-epochs N] [--finetune-epochs N] [--trials N] [--limit N]
 *
 * Full runs train on all of MNIST: tens of minutes per scenario and seed on
 * 2 cores. `--limit 2000 --train-epochs 1 --finetune-epochs 1 --seeds 1
 * --scenarios lenet300-26kb` checks the script in about a minute.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { args, dist, opt, root } from './lib/cli.mjs';

if (args.includes('--help')) {
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}

const SCENARIOS = {
  // Deep Compression's 40x for LeNet-300-100; then 80x and 130x where allocation should matter.
  'lenet300-26kb': { build: { arch: 'mlp', units: [300, 100] }, flatten: true, kb: 26, target: 'test error <= 1.7%' },
  'lenet300-13kb': { build: { arch: 'mlp', units: [300, 100] }, flatten: true, kb: 13, target: 'beats uniform by more than the seed spread' },
  'lenet300-8kb': { build: { arch: 'mlp', units: [300, 100] }, flatten: true, kb: 8, target: 'beats uniform by more than the seed spread' },
  'lenet5-17kb': { build: { arch: 'lenet5' }, flatten: false, kb: 17, target: 'test error <= 0.9%' },
  'lenet5-p95': { build: { arch: 'lenet5' }, flatten: false, p95Fraction: 0.6, target: 'meets p95 with less accuracy loss than uniform structured pruning' },
};
const scenarios = (opt('--scenarios', Object.keys(SCENARIOS).join(','))).split(',');
const seeds = opt('--seeds', '1,2,3').split(',').map(Number);
const trainEpochs = Number(opt('--train-epochs', '10'));
const finetuneEpochs = Number(opt('--finetune-epochs', '2'));
const trials = Number(opt('--trials', '4'));
const limit = opt('--limit', undefined);
const runsDir = join(root, 'bench', 'runs', 'auto');
const resultsDir = join(root, 'bench', 'results');
for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`Expected a scenario (${Object.keys(SCENARIOS).join(', ')}), got ${s}`);

/** The unmodified model's p95 on wasm (batch 1), from a model built with the scenario's architecture. */
async function unmodifiedP95(sc) {
  const { createEngine } = await import(dist('engine/engine.js'));
  const { measureInterleaved } = await import(dist('measure/interleaved-latency.js'));
  const engine = createEngine('wasm', 0);
  const dir = join(runsDir, 'latency-probe');
  rmSync(dir, { recursive: true, force: true });
  await engine.saveModel(await engine.buildModel({ ...sc.build, inputShape: sc.flatten ? [784] : [28, 28, 1] }), dir);
  return (await measureInterleaved([dir], { runtime: 'wasm', secondsPerModel: 3 })).models[0].p95Ms;
}

function recipe(name, sc, seed) {
  const data = (split) => `{ uses: mnist, split: ${split}${sc.flatten ? ', flatten: true' : ''}${limit ? `, limit: ${limit}` : ''} }`;
  return `version: 1
name: ${name}
seed: ${seed}
model:
  build: ${JSON.stringify(sc.build)}
data:
  train: ${data('train')}
  test: ${data('test')}
devices:
  target: { runtime: wasm, budget: { ${sc.p95Ms !== undefined ? `latency_ms_p95: ${sc.p95Ms.toFixed(4)}` : `size_packed_kb: ${sc.kb}`} } }
stages:
  - id: train
    uses: train
    with: { data: train, epochs: ${trainEpochs}, learningRate: 0.001, schedule: { kind: step, every: 4, factor: 0.5 } }
  - id: sensitivity
    uses: sensitivity
    with: { data: train, fraction: 0.1, samples: 2000${sc.p95Ms !== undefined ? ', structured: [0.25, 0.5, 0.75]' : ''} }
  - id: auto
    uses: auto
    needs: [train, sensitivity]
    with: { devices: [target], trials: ${trials}, finetune: { epochs: ${finetuneEpochs}, learningRate: 0.001 } }
`;
}

function run(args) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, wallMs: performance.now() - t0 }));
  });
}

const { loadTf } = await import(dist('engine/tf.js'));
const { registerWasmTrainingKernels } = await import(dist('engine/kernels/index.js'));
const { loadModelDir } = await import(dist('engine/model-io.js'));
const { mnistLoader } = await import(dist('data/mnist.js'));
const { evaluateAccuracy } = await import(dist('stages/training/train-loop.js'));
const tf = await loadTf('wasm', { beforeReady: (t) => registerWasmTrainingKernels(t) });

const rows = [];
for (const name of scenarios) {
  const sc = SCENARIOS[name];
  if (sc.p95Fraction !== undefined) {
    sc.unmodifiedP95Ms = await unmodifiedP95(sc);
    sc.p95Ms = sc.p95Fraction * sc.unmodifiedP95Ms;
  }
  const test = await mnistLoader.load({ split: 'test', ...(sc.flatten ? { flatten: true } : {}) }, { baseDir: root, name: 'test' });
  for (const seed of seeds) {
    const dir = join(runsDir, `${name}-s${seed}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'recipe.yaml'), recipe(name, sc, seed));
    const { code, wallMs } = await run([join(root, 'bin', 'modelpress.js'), 'run', join(dir, 'recipe.yaml'), '--out', join(dir, 'run'), '--cache-dir', join(root, 'bench', '.cache')]);
    if (code !== 0 && code !== 3) throw new Error(`${name} seed ${seed}: modelpress run exited ${code}`);
    const record = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8'));
    const node = (id) => record.nodes.find((n) => n.id === id);
    const auto = node('auto');
    const searchDir = auto.outputs.search.path;
    const log = JSON.parse(readFileSync(join(searchDir, 'trials.json'), 'utf8'));
    const resumeDir = join(dir, '.modelpress', 'auto-trials');
    for (const t of log.trials) {
      const model = await loadModelDir(join(resumeDir, t.key, 'model'));
      const { accuracy } = await evaluateAccuracy(tf, model, test, 512);
      model.dispose();
      rows.push({ scenario: name, seed, kind: t.kind, trial: t.trial, packedBytes: t.measured.packedBytes, predictedBytes: t.predicted.packedBytes, calibrationAccuracy: t.measured.accuracy, testError: 100 - accuracy, meets: t.meets, predictedLatency: t.predicted.latency ?? null, measuredLatency: t.measured.latency ?? null, unmodifiedLatency: t.measured.unmodifiedLatency ?? null, ms: t.ms, settings: t.settings, nodeMs: auto.durationMs ?? null, runWallMs: wallMs });
    }
  }
}

// Per scenario: search (best meeting trial of search/repair), uniform, best random (by calibration accuracy, as a user would pick).
const pick = (rs) => [...rs].filter((r) => r.meets).sort((a, b) => b.calibrationAccuracy - a.calibrationAccuracy)[0];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs) => (xs.length > 1 ? Math.max(...xs) - Math.min(...xs) : 0);
const summary = scenarios.map((name) => {
  const by = (kinds) => seeds.map((seed) => pick(rows.filter((r) => r.scenario === name && r.seed === seed && kinds.includes(r.kind)))).filter(Boolean);
  const search = by(['search', 'repair']);
  const uniform = by(['uniform']);
  const random = by(['random']);
  const e = (rs) => rs.map((r) => r.testError);
  const searchTrials = rows.filter((r) => r.scenario === name && (r.kind === 'search' || r.kind === 'repair')).length / seeds.length;
  return {
    scenario: name,
    budgetKb: SCENARIOS[name].kb ?? null,
    budgetP95Ms: SCENARIOS[name].p95Ms ?? null,
    unmodifiedP95Ms: SCENARIOS[name].unmodifiedP95Ms ?? null,
    target: SCENARIOS[name].target,
    search: { meanError: mean(e(search)), spread: spread(e(search)), seeds: search.length },
    uniform: { meanError: mean(e(uniform)), spread: spread(e(uniform)), seeds: uniform.length },
    random: { meanError: mean(e(random)), spread: spread(e(random)), seeds: random.length },
    beatsUniformBeyondSpread: mean(e(uniform)) - mean(e(search)) > Math.max(spread(e(search)), spread(e(uniform))),
    searchTrialsPerSeed: searchTrials,
    anchors: { AMC: 800, HAQ: 600, INC: 100 },
  };
});
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'auto.json'), `${JSON.stringify({ options: { scenarios, seeds, trainEpochs, finetuneEpochs, trials, limit: limit ?? null }, summary, rows }, null, 2)}\n`);
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const md = [
  '# Automatic compression (bench/auto.mjs)',
  '',
  `Seeds ${seeds.join(', ')}; train ${trainEpochs} epochs; every trial and baseline fine-tuned ${finetuneEpochs} epochs${limit ? `; data limited to ${limit} examples` : ''}. Test error in %, mean (spread) over seeds.`,
  '',
  '| scenario | budget | search | uniform | random (best of as many) | search beats uniform beyond spread | search trials / seed | target |',
  '| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |',
  ...summary.map((s) => `| ${s.scenario} | ${s.budgetKb !== null ? `${s.budgetKb} KB` : `p95 ${f(s.budgetP95Ms)} ms (${f(s.unmodifiedP95Ms)} unmodified)`} | ${f(s.search.meanError)} (${f(s.search.spread)}) | ${f(s.uniform.meanError)} (${f(s.uniform.spread)}) | ${f(s.random.meanError)} (${f(s.random.spread)}) | ${s.beatsUniformBeyondSpread ? 'yes' : 'no'} | ${s.searchTrialsPerSeed} | ${s.target} |`),
  '',
  'Anchors: AMC 800 episodes, HAQ 600, Intel Neural Compressor up to 100 trials.',
  '',
];
writeFileSync(join(resultsDir, 'auto.md'), md.join('\n'));
process.stdout.write(md.join('\n'));
