#!/usr/bin/env node
/**
 * Paper benchmarks: runs the recipes that reproduce Deep Compression
 * (LeNet-300-100, LeNet-5) and knowledge distillation on MNIST, then writes
 * our numbers next to the papers', row by row.
 *
 *   npm run build && node bench/papers.mjs [lenet300] [lenet5] [distillation]
 *       [--cache-dir DIR] [--jobs N] [--backend NAME] [--set path=value]...
 *       [--from-run RUN_JSON] [--no-rerun] [--results-dir DIR] [--runs-dir DIR]
 *
 * For each recipe: `modelpress run <recipe> --out bench/runs/<name>
 * --cache-dir bench/.cache` (its output streamed), then the same command a
 * second time (out: bench/runs/<name>-cached), timed as a whole process:
 * every node is a cache hit, so that is the cost of re-running an unchanged
 * recipe (target < 3 s). Then bench/results/<name>.md and .json, and
 * bench/results/papers-summary.md from every <name>.json present.
 *
 * A name may be given as name=path/to/recipe.yaml to run another recipe
 * with that name's comparison (e.g. a small copy for testing).
 * `--from-run X/run.json` (one name) skips the first run and reads that
 * record; the cached re-run then uses the record's cache dir unless
 * --cache-dir says otherwise (or is skipped with --no-rerun).
 *
 * Stage times: a node that ran shows its wall time (durationMs); a node that
 * was already cached at the first run shows the compute time its metrics
 * recorded when it did run (trainMs, pruneMs, clusterMs + finetuneMs,
 * quantizeMs, teacherLogitsMs + distillMs), marked "(from cache)": that
 * excludes loading, evaluation and saving, so it is a lower bound.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, machine, machineTable } from './lib/machine.mjs';
import { cachedRerunTargetMs, citations, deepCompression, distillation } from './lib/papers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'modelpress.js');
const RECIPES = {
  lenet300: deepCompression.lenet300.recipe,
  lenet5: deepCompression.lenet5.recipe,
  distillation: distillation.recipe,
};

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const VALUED = new Set(['--cache-dir', '--jobs', '--backend', '--set', '--from-run', '--results-dir', '--runs-dir']);
const options = { sets: [] };
const names = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--no-rerun') options.noRerun = true;
  else if (a === '-h' || a === '--help') {
    process.stdout.write(`${readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]}*/\n`);
    process.exit(0);
  } else if (VALUED.has(a)) {
    const v = argv[++i];
    if (v === undefined) fail(`${a} needs a value`);
    if (a === '--set') options.sets.push(v);
    else options[a.slice(2).replace(/-(.)/g, (_, c) => c.toUpperCase())] = v;
  } else if (a.startsWith('--')) fail(`unknown option ${a}`);
  else names.push(a);
}
const jobs = names.length ? names : Object.keys(RECIPES);
const targets = jobs.map((spec) => {
  const [name, recipe] = spec.split('=');
  if (!Object.hasOwn(RECIPES, name)) fail(`unknown benchmark ${name}: use ${Object.keys(RECIPES).join(', ')} (or name=recipe.yaml)`);
  return { name, recipe: resolve(root, recipe ?? RECIPES[name]) };
});
if (options.fromRun && targets.length !== 1) fail('--from-run takes exactly one benchmark name');
const resultsDir = resolve(root, options.resultsDir ?? 'bench/results');
const runsDir = resolve(root, options.runsDir ?? 'bench/runs');
const command = `node bench/papers.mjs ${argv.join(' ')}`.trim();

/** A path relative to the repo when it is inside it, else as it is. */
function show(p) {
  if (!isAbsolute(p)) return p;
  const r = relative(root, p);
  return r.startsWith('..') ? p : r || '.';
}

function fail(message) {
  process.stderr.write(`papers: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- running

/** Runs the CLI; resolves with { code, wallMs, output } (output only when not streamed). */
function runCli(recipe, out, cacheDir, stream, sets = options.sets, backend = options.backend) {
  const args = [cli, 'run', recipe, '--out', out, '--cache-dir', cacheDir];
  if (options.jobs) args.push('--jobs', options.jobs);
  if (backend) args.push('--backend', backend);
  for (const s of sets) args.push('--set', s);
  process.stderr.write(`$ node ${args.map(show).join(' ')}\n`);
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: stream ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, wallMs: performance.now() - t0, output }));
  });
}

function readRecord(file) {
  if (!existsSync(file)) throw new Error(`no run record at ${file}`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function bench({ name, recipe }) {
  let record;
  let recordFile;
  let firstWallMs = null;
  let cacheDir;
  if (options.fromRun) {
    recordFile = resolve(options.fromRun);
    record = readRecord(recordFile);
    cacheDir = resolve(options.cacheDir ?? record.cacheDir);
  } else {
    cacheDir = resolve(root, options.cacheDir ?? 'bench/.cache');
    const out = join(runsDir, name);
    rmSync(out, { recursive: true, force: true });
    process.stderr.write(`\n== ${name}: first run (${show(recipe)})\n`);
    const first = await runCli(recipe, out, cacheDir, true);
    recordFile = join(out, 'run.json');
    // Exit 3 = a budget was missed: the run is complete, the report says which.
    if (first.code !== 0 && first.code !== 3) throw new Error(`${name}: modelpress run exited ${first.code}`);
    record = readRecord(recordFile);
    firstWallMs = first.wallMs;
  }

  let rerun = null;
  if (!options.noRerun) {
    const out = join(runsDir, `${name}-cached`);
    rmSync(out, { recursive: true, force: true });
    process.stderr.write(`\n== ${name}: cached re-run\n`);
    // From a recorded run: the same overrides it was run with, so every node is a hit.
    const sets = options.fromRun && !options.sets.length ? (record.recipe?.overrides ?? []) : options.sets;
    const recorded = ['wasm', 'cpu', 'tfjs-node'].includes(record.versions?.backend) ? record.versions.backend : undefined;
    const backend = options.backend ?? (options.fromRun ? recorded : undefined);
    const load = loadavg()[0];
    const second = await runCli(record.recipe?.file ?? recipe, out, cacheDir, false, sets, backend);
    if (second.code !== 0 && second.code !== 3) {
      process.stderr.write(second.output);
      throw new Error(`${name}: cached re-run exited ${second.code}`);
    }
    const again = readRecord(join(out, 'run.json'));
    const ran = again.nodes.filter((n) => n.status !== 'cached').map((n) => n.id);
    rerun = {
      wallMs: Math.round(second.wallMs),
      runDurationMs: again.durationMs,
      nodes: again.nodes.length,
      cached: again.nodes.length - ran.length,
      ran,
      loadAverage: load,
      targetMs: cachedRerunTargetMs,
      ok: second.wallMs < cachedRerunTargetMs && ran.length === 0,
    };
    process.stderr.write(`   ${(second.wallMs / 1000).toFixed(2)} s, ${rerun.cached}/${rerun.nodes} nodes cached\n`);
  }

  const ctx = {
    name,
    recipe,
    record,
    recordFile,
    firstWallMs,
    rerun,
    command,
    date: new Date().toISOString(),
    machine: machine({ versions: record.versions }),
  };
  const result = name === 'distillation' ? distillationResult(ctx) : deepCompressionResult(ctx, deepCompression[name]);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result.json, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${name}.md`), `${result.md.join('\n')}\n`);
  process.stderr.write(`wrote ${show(join(resultsDir, `${name}.md`))} and .json\n`);
  return result;
}

// ---------------------------------------------------------------- shared pieces

const pct = (x, digits = 2) => (x == null || Number.isNaN(x) ? '-' : `${x.toFixed(digits)}%`);
const kb = (bytes) => (bytes == null ? '-' : `${(bytes / 1024).toFixed(1)} KB`);
const bytesFmt = (b) => (b == null ? '-' : b.toLocaleString('en-US'));
const ratio = (x) => (x == null ? '-' : `${x.toFixed(2)}x`);
const secs = (ms) => (ms == null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const mark = (ok) => (ok == null ? '-' : ok ? 'pass' : '**FAIL**');
const errorOf = (accuracy) => (typeof accuracy === 'number' ? 100 - accuracy : null);
const row = (cells) => `| ${cells.join(' | ')} |`;

/** The compute time a node's metrics recorded, for nodes served from the cache. */
function computeMs(node) {
  const m = node.metrics ?? {};
  const sum = (...keys) => (keys.some((k) => typeof m[k] === 'number') ? keys.reduce((s, k) => s + (m[k] ?? 0), 0) : null);
  switch (node.uses) {
    case 'train':
      return sum('trainMs');
    case 'prune':
      return sum('pruneMs');
    case 'share':
      return sum('clusterMs', 'finetuneMs');
    case 'quantize':
      return sum('quantizeMs');
    case 'distill':
      return sum('teacherLogitsMs', 'distillMs');
    default:
      return null;
  }
}

function stageTimes(record) {
  return record.nodes.map((n) => {
    if (n.status === 'ran') return { node: n.id, uses: n.uses, status: n.status, ms: n.durationMs, source: 'ran' };
    const ms = computeMs(n);
    return { node: n.id, uses: n.uses, status: n.status, ms, source: ms == null ? 'cached, no timing recorded' : 'from cache' };
  });
}

function stageTimesMd(times, record, firstWallMs) {
  const total = times.reduce((s, t) => s + (t.ms ?? 0), 0);
  return [
    '| node | stage | wall time | note |',
    '| --- | --- | --- | --- |',
    ...times.map((t) => row([`\`${t.node}\``, t.uses, secs(t.ms), t.source === 'ran' ? 'ran' : `(${t.source})`])),
    row(['**sum**', '', `**${secs(total)}**`, times.some((t) => t.source !== 'ran') ? 'includes compute times from cache' : '']),
    '',
    `Run record: ${record.status}, ${secs(record.durationMs)} of execution (${record.jobs} job${record.jobs === 1 ? '' : 's'} at once)` +
      (firstWallMs != null ? `; the whole \`modelpress run\` process took ${secs(firstWallMs)}.` : '.'),
  ];
}

function rerunMd(rerun) {
  if (!rerun) return ['Cached re-run: not measured (`--no-rerun`).'];
  const ran = rerun.ran.length ? `; ran again: ${rerun.ran.map((id) => `\`${id}\``).join(', ')}` : '';
  return [
    `Cached re-run (same recipe, same cache, whole process): **${(rerun.wallMs / 1000).toFixed(2)} s**, ` +
      `${rerun.cached} of ${rerun.nodes} nodes from the cache${ran} ` +
      `(target < ${rerun.targetMs / 1000} s: ${mark(rerun.ok)}; 1-minute load average ${rerun.loadAverage?.toFixed(1) ?? '-'} on this machine).`,
  ];
}

function header(ctx, title) {
  const rel = show;
  return [
    `# ${title}`,
    '',
    `Produced by \`${ctx.command}\` on ${ctx.date.slice(0, 10)} (run started ${ctx.record.startedAt}), ` +
      `recipe \`${rel(ctx.record.recipe?.file ?? ctx.recipe)}\`, run record \`${rel(ctx.recordFile)}\`; ` +
      `${describeMachine(ctx.machine)}.`,
    '',
  ];
}

/** The fields every result JSON starts with: which benchmark, run and machine. */
function jsonHeader(ctx, title) {
  return {
    benchmark: ctx.name,
    title,
    command: ctx.command,
    date: ctx.date,
    recipe: show(ctx.record.recipe?.file ?? ctx.recipe),
    runRecord: ctx.recordFile,
    runStartedAt: ctx.record.startedAt,
    status: ctx.record.status,
    machine: ctx.machine,
  };
}

function machineMd(m) {
  return ['## Machine', '', ...machineTable(m)];
}

/** The upstream nodes of `id` by stage type, nearest first. */
function ancestors(byId, id) {
  const found = {};
  const queue = [...(byId.get(id)?.inputs ?? [])];
  while (queue.length) {
    const n = byId.get(queue.shift());
    if (!n) continue;
    found[n.uses] ??= n;
    queue.push(...(n.inputs ?? []));
  }
  return found;
}

function reportJson(record, recordFile, evalNode) {
  const rel = record.artifacts?.[evalNode.id]?.report;
  const candidates = [rel && join(dirname(recordFile), rel, 'report.json'), evalNode.outputs?.report?.path && join(evalNode.outputs.report.path, 'report.json')];
  for (const f of candidates) if (f && existsSync(f)) return JSON.parse(readFileSync(f, 'utf8'));
  return null;
}

/** report.json's candidates: an array of { node, ... } (or an object keyed by node). */
function reportCandidate(report, id) {
  const list = report?.candidates;
  if (!list) return null;
  return Array.isArray(list) ? list.find((c) => c.node === id) : list[id];
}

const matrixLabel = (m) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'default';

// ---------------------------------------------------------------- deep compression

function deepCompressionResult(ctx, paper) {
  const { record } = ctx;
  const byId = new Map(record.nodes.map((n) => [n.id, n]));
  const evalNode = record.nodes.find((n) => n.uses === 'evaluate');
  if (!evalNode?.metrics?.candidates) throw new Error(`${ctx.name}: the run has no evaluate node with candidates`);
  const ev = evalNode.metrics;
  const report = reportJson(record, ctx.recordFile, evalNode);
  const refId = ev.reference;
  const ref = ev.candidates[refId];
  const params = ref?.params ?? paper.params;
  const float32Bytes = params * 4;

  const candidates = Object.entries(ev.candidates)
    .filter(([, c]) => !c.reference)
    .map(([id, c]) => {
      const node = byId.get(id);
      const up = ancestors(byId, id);
      const quantize = node?.uses === 'quantize' ? node : up.quantize;
      const { share, prune, train } = up;
      const exp = record.nodes.find((n) => n.uses === 'export' && n.inputs?.includes(id));
      const s = c.sizeBytes ?? {};
      const finalError = errorOf(c.accuracy);
      const packedRatio = s.packed ? float32Bytes / s.packed : null;
      const brotliRatio = s.brotli ? float32Bytes / s.brotli : null;
      const t = paper.targets;
      const checks = {
        error: finalError == null ? null : finalError <= t.maxErrorPct + 1e-9,
        packed: packedRatio == null ? null : packedRatio >= t.minPackedRatio,
        brotli: t.minBrotliRatio == null ? undefined : brotliRatio == null ? null : brotliRatio >= t.minBrotliRatio,
      };
      const verdicts = Object.values(checks).filter((v) => v !== undefined);
      return {
        node: id,
        label: matrixLabel(node?.matrix),
        chain: { train: train?.id, prune: prune?.id, share: share?.id, quantize: quantize?.id, export: exp?.id ?? null },
        errorPct: {
          baseline: errorOf(train?.metrics?.accuracy),
          pruned: errorOf(prune?.metrics?.accuracy),
          shared: errorOf(share?.metrics?.accuracy),
          quantized: errorOf(quantize?.metrics?.accuracy),
          final: finalError,
        },
        keptPct: Object.fromEntries(paper.layers.map((l) => [l.layer, prune?.metrics?.layers?.[l.layer] ? 100 * (1 - prune.metrics.layers[l.layer].sparsity) : null])),
        keptTotalPct: typeof prune?.metrics?.sparsity === 'number' ? 100 * (1 - prune.metrics.sparsity) : null,
        bits: Object.fromEntries(paper.layers.map((l) => [l.layer, share?.metrics?.layers?.[l.layer]?.kernel?.bitsPerIndex ?? null])),
        params: c.params,
        nonZeros: c.nonZeros,
        sizeBytes: s,
        files: reportCandidate(report, id)?.size?.files ?? null,
        ratios: { packed: packedRatio, brotli: brotliRatio, gzip: s.gzip ? float32Bytes / s.gzip : null, raw: s.raw ? float32Bytes / s.raw : null },
        exportSizeBytes: exp?.metrics?.sizeBytes ?? null,
        checks,
        pass: verdicts.every((v) => v === true),
      };
    });

  const times = stageTimes(record);
  const t = paper.targets;
  const C = candidates;
  const ours = (f) => C.map(f);
  const dcRef = `[1]`;
  const pRef = `[2]`;
  const lines = [
    ...header(ctx, `${paper.title}: modelpress vs the paper`),
    `Paper: Han, Mao & Dally, *Deep Compression*, ICLR 2016 ${dcRef}, ${paper.sources.table}; pruning alone: Han et al., *Learning both Weights and Connections*, NIPS 2015 ${pRef}. ` +
      `Errors are top-1 on the ${(ev.examples ?? 10000).toLocaleString('en-US')} MNIST test images evaluated. Sizes: KB = 1,024 bytes; the paper's KB are about 1,000 bytes, so compare the ratios. ` +
      `The float32 size is parameters x 4 bytes, the paper's convention.`,
    '',
    row(['', 'paper', ...C.map((c) => `modelpress \`${c.node}\``), 'target']),
    row(['---', '---', ...C.map(() => '---'), '---']),
    row(['test error, trained (float32)', pct(paper.baselineErrorPct), ...ours((c) => pct(c.errorPct.baseline)), '']),
    row([`after pruning + retraining`, `${pct(paper.prunedErrorPct)} ${pRef}`, ...ours((c) => pct(c.errorPct.pruned)), '']),
    row(['after weight sharing + centroid fine-tuning', '-', ...ours((c) => pct(c.errorPct.shared)), '']),
    row(['after uint8 storage (quantize)', '-', ...ours((c) => pct(c.errorPct.quantized)), '']),
    row(['**final test error** (evaluate)', `**${pct(paper.finalErrorPct)}**`, ...ours((c) => `**${pct(c.errorPct.final)}**`), `<= ${t.maxErrorPct}%`]),
    ...paper.layers.map((l) => row([`weights kept, ${layerName(l)}`, pct(100 * l.kept, 0), ...ours((c) => pct(c.keptPct[l.layer], 1)), ''])),
    row(['weights kept, all layers', `${pct(100 * paper.keptTotal, 0)} (${paper.prunedReduction}x)`, ...ours((c) => (c.keptTotalPct == null ? '-' : `${pct(c.keptTotalPct, 1)} (${(100 / c.keptTotalPct).toFixed(1)}x)`)), '']),
    ...paper.layers.map((l) => row([`bits per shared weight, ${layerName(l)}`, String(l.bits), ...ours((c) => String(c.bits[l.layer] ?? '-')), ''])),
    row(['parameters', `${Math.round(paper.params / 1000)}K`, ...ours((c) => bytesFmt(c.params)), '']),
    row(['non-zero parameters (weights + biases)', '-', ...ours((c) => bytesFmt(c.nonZeros)), '']),
    row(['float32 size (parameters x 4)', `${paper.baselineKB} KB`, ...ours(() => `${kb(float32Bytes)} (${bytesFmt(float32Bytes)} B)`), '']),
    row(['reference as a tfjs artifact (model.json + shards)', '-', ...ours(() => kb(ref?.sizeBytes?.raw)), '']),
    row(['final, tfjs artifact (uint8 shards), raw', '-', ...ours((c) => kb(c.sizeBytes.raw)), '']),
    row(['final, tfjs artifact, gzip -9', '-', ...ours((c) => kb(c.sizeBytes.gzip)), '']),
    row(['final, tfjs artifact, brotli -q 11', '-', ...ours((c) => kb(c.sizeBytes.brotli)), '']),
    row(['**final, packed** (`model.mpk`)', `**${paper.finalKB} KB**`, ...ours((c) => `**${kb(c.sizeBytes.packed)}**`), '']),
    row(['final, packed + brotli (export)', '-', ...ours((c) => kb(c.exportSizeBytes?.packedBrotli)), '']),
    row(['**compression, float32 / packed**', `**${paper.compression}x**`, ...ours((c) => `**${ratio(c.ratios.packed)}**`), `>= ${t.minPackedRatio}x`]),
    row(['compression, float32 / brotli', '-', ...ours((c) => ratio(c.ratios.brotli)), t.minBrotliRatio ? `>= ${t.minBrotliRatio}x` : '']),
    row(['compression, float32 / gzip', '-', ...ours((c) => ratio(c.ratios.gzip)), '']),
    row(['**verdict**', '', ...ours((c) => verdictText(c)), '']),
    '',
    'The paper stores the pruned, shared weights with relative-index sparse coding and Huffman coding; ' +
      "modelpress's packed container stores them as described in docs/packed-format.md. The tfjs artifact is what stock " +
      '`tf.loadLayersModel` loads (uint8 weights, dequantized on load), sent gzip- or brotli-compressed by a web server.',
    '',
  ];
  const withFiles = C.filter((c) => c.files);
  if (withFiles.length) {
    lines.push('## Files of the final models', '', '| candidate | file | raw | gzip | brotli |', '| --- | --- | --- | --- | --- |');
    for (const c of withFiles) for (const f of c.files) lines.push(row([`\`${c.node}\``, f.name, kb(f.raw), kb(f.gzip), kb(f.brotli)]));
    lines.push('', `From the evaluate node's report.json. The packed container is one file (\`model.mpk\`) per model.`, '');
  }
  lines.push('## Time per stage', '', ...stageTimesMd(times, record, ctx.firstWallMs), '', ...rerunMd(ctx.rerun), '', ...machineMd(ctx.machine), '', ...references([citations.deepCompression, citations.pruning]));

  const json = {
    ...jsonHeader(ctx, paper.title),
    paper: { ...paper, citations: [citations.deepCompression, citations.pruning] },
    reference: { node: refId, accuracy: ref?.accuracy, params, float32Bytes, sizeBytes: ref?.sizeBytes },
    candidates,
    pass: candidates.length > 0 && candidates.some((c) => c.pass),
    stageTimes: times,
    runDurationMs: record.durationMs,
    firstRunWallMs: ctx.firstWallMs == null ? null : Math.round(ctx.firstWallMs),
    cachedRerun: ctx.rerun,
  };
  return { json, md: lines };
}

const layerName = (l) => (l.paper === l.layer ? l.paper : `${l.paper} (\`${l.layer}\`)`);

function verdictText(c) {
  const failed = Object.entries(c.checks).filter(([, v]) => v === false).map(([k]) => k);
  const unknown = Object.entries(c.checks).filter(([, v]) => v === null).map(([k]) => k);
  if (c.pass) return '**pass**';
  return `**FAIL**${failed.length ? ` (${failed.join(', ')})` : ''}${unknown.length ? ` (not measured: ${unknown.join(', ')})` : ''}`;
}

function references(list) {
  return ['## References', '', ...list.map((c, i) => `[${i + 1}] ${c.text}. ${c.url}`)];
}

// ---------------------------------------------------------------- distillation

/**
 * Every `distill` node of the run is one comparison: its teacher (the node its
 * `teacher:` names), the student trained alone (node `student`), and the
 * distilled student. The first is the paper's setup; a recipe may add more
 * teachers (examples/distillation/mnist.yaml adds a LeNet-5).
 */
function distillationResult(ctx) {
  const { record } = ctx;
  const paper = distillation;
  const byId = (id) => record.nodes.find((n) => n.id === id) ?? record.nodes.find((n) => n.stage === id);
  const student = byId('student');
  const distills = record.nodes.filter((n) => n.uses === 'distill');
  const pairs = distills.map((d) => ({ teacher: byId(d.config?.teacher), distilled: d }));
  if (!student || pairs.length === 0 || pairs.some((p) => !p.teacher)) {
    throw new Error(`distillation: expected a node \`student\` and distill nodes whose teacher is in the run; the run has ${record.nodes.map((n) => n.id).join(', ')}`);
  }
  // The eval dataset's size: 10,000 MNIST test images unless the recipe limits it.
  const evalName = distills[0].config?.eval ?? distills[0].metrics?.evalDataset;
  const evalData = record.recipe?.resolved?.data?.[evalName];
  const n = Math.min(paper.testExamples, evalData?.limit ?? paper.testExamples);
  const errors = (node) => (typeof node.metrics?.accuracy === 'number' ? Math.round(((100 - node.metrics.accuracy) / 100) * n) : null);
  const alone = errors(student);
  for (const p of pairs) {
    p.errors = { teacher: errors(p.teacher), distilled: errors(p.distilled) };
    p.reduction = alone && p.errors.distilled != null ? 100 * (1 - p.errors.distilled / alone) : null;
    p.pass = p.reduction == null ? null : p.reduction >= paper.targets.minReductionPct;
  }
  const paperReduction = 100 * (1 - paper.distilled.errors / paper.student.errors);
  const cfg = (node) => node.config ?? {};
  const describe = (node) => {
    const c = cfg(node);
    const parts = [];
    for (const k of ['epochs', 'batchSize', 'optimizer', 'learningRate', 'temperature', 'alpha']) if (c[k] !== undefined) parts.push(`${k} ${c[k]}`);
    if (c.schedule && c.schedule.kind !== 'constant') parts.push(`schedule ${c.schedule.kind}`);
    if (c.augment) parts.push(`augment shift ${c.augment.shift}`);
    if (c.validation?.split) parts.push(`validation split ${c.validation.split}`);
    if (c.earlyStopping) parts.push(`early stopping on ${c.earlyStopping.monitor} (patience ${c.earlyStopping.patience})`);
    if (node.metrics?.epochs !== undefined && node.metrics.epochs !== c.epochs) parts.push(`${node.metrics.epochs} epochs run`);
    if (node.metrics?.bestEpoch !== undefined) {
      const val = typeof node.metrics.val_acc === 'number' ? `, validation accuracy ${node.metrics.val_acc.toFixed(2)}%` : '';
      parts.push(`kept epoch ${node.metrics.bestEpoch} (best on validation${val})`);
    }
    return parts.join(', ') || '-';
  };
  const spec = (b) => `${b.arch}${b.units ? ` [${b.units.join(', ')}]` : ''}${b.dropout ? `, dropout ${b.dropout}` : ''}${b.activation && b.activation !== 'relu' ? `, ${b.activation}` : ''}`;
  const modelOf = (node) => {
    const c = cfg(node);
    if (c.build) return spec(c.build);
    if (c.student?.build) return spec(c.student.build);
    if (c.student?.from) return c.student.from;
    if (c.student?.stage) return `output of ${c.student.stage}`;
    const build = record.recipe?.resolved?.model?.build;
    if (node.uses === 'train' && !node.inputs?.length && build) return spec(build);
    return node.inputs?.length ? `from ${node.inputs.join(', ')}` : '';
  };
  const errorsCell = (node, e) => `${e ?? '-'} (${pct(node.metrics?.accuracy)})`;
  const valCell = (aloneAcc, distilledAcc) => {
    if (typeof distilledAcc !== 'number') return '-';
    const [a, d] = [100 - aloneAcc, 100 - distilledAcc];
    return `${a.toFixed(2)}% -> ${d.toFixed(2)}% (${pct(100 * (1 - d / a), 0)})`;
  };
  const times = stageTimes(record);
  const settingsNodes = [...new Set([pairs[0].teacher, student, pairs[0].distilled, ...pairs.slice(1).flatMap((p) => [p.teacher, p.distilled])])];
  const lines = [
    ...header(ctx, `${paper.title}: modelpress vs the paper`),
    `Paper: Hinton, Vinyals & Dean, *Distilling the Knowledge in a Neural Network*, 2015 [1], section 3 (MNIST). ` +
      `Errors are counted on the ${n.toLocaleString('en-US')} MNIST test images (\`${evalName ?? 'test'}\`): round((100 - accuracy) / 100 x ${n}). ` +
      `One column per distill node: the first is the paper's setup${pairs.length > 1 ? '; the others distill the same student, with the same settings, from another teacher' : ''}.`,
    '',
    `| | paper | ${pairs.map((p) => `modelpress: teacher \`${p.teacher.id}\``).join(' | ')} | target |`,
    `| --- | --- | ${pairs.map(() => '---').join(' | ')} | --- |`,
    row(['teacher', paper.teacher.description, ...pairs.map((p) => modelOf(p.teacher)), '']),
    row(['teacher errors', String(paper.teacher.errors), ...pairs.map((p) => errorsCell(p.teacher, p.errors.teacher)), '']),
    row([`student trained alone, errors (\`${student.id}\`)`, `${paper.student.errors} (${paper.student.description})`, ...pairs.map(() => errorsCell(student, alone)), '']),
    row(['**distilled student, errors**', `**${paper.distilled.errors}** (T = ${paper.distilled.temperature})`, ...pairs.map((p) => `**${errorsCell(p.distilled, p.errors.distilled)}** (\`${p.distilled.id}\`)`), '']),
    row([
      '**errors removed by distillation** (1 - distilled / alone)',
      `**${pct(paperReduction, 0)}**`,
      ...pairs.map((p) => `**${pct(p.reduction, 0)}**: ${mark(p.pass)}`),
      `>= ${paper.targets.minReductionPct}%`,
    ]),
    // The same comparison on the held-out training images the epochs were chosen on (error rates: the split's size is not in the record).
    ...(pairs.some((p) => typeof p.distilled.metrics?.val_acc === 'number') && typeof student.metrics?.val_acc === 'number'
      ? [
          row([
            'validation error, alone -> distilled (errors removed; the held-out split the kept epochs were chosen on)',
            '-',
            ...pairs.map((p) => valCell(student.metrics.val_acc, p.distilled.metrics?.val_acc)),
            '',
          ]),
        ]
      : []),
    row(['teacher / student parameters', '-', ...pairs.map((p) => `${bytesFmt(p.distilled.metrics?.teacherParams)} / ${bytesFmt(p.distilled.metrics?.studentParams)}`), '']),
    row(['distilled student agrees with the teacher', '-', ...pairs.map((p) => pct(p.distilled.metrics?.teacherAgreement)), '']),
    row(['temperature, alpha (hard-label weight)', `${paper.distilled.temperature}, -`, ...pairs.map((p) => `${cfg(p.distilled).temperature ?? '-'}, ${cfg(p.distilled).alpha ?? '-'}`), '']),
    '',
    '## Settings',
    '',
    '| node | stage | model | settings |',
    '| --- | --- | --- | --- |',
    ...settingsNodes.map((node) => row([`\`${node.id}\``, node.uses, modelOf(node), describe(node)])),
    '',
    '## Time per stage',
    '',
    ...stageTimesMd(times, record, ctx.firstWallMs),
    '',
    ...rerunMd(ctx.rerun),
    '',
    ...machineMd(ctx.machine),
    '',
    ...references([citations.distillation]),
  ];
  const nodeJson = (node, e) => ({ node: node.id, uses: node.uses, accuracy: node.metrics?.accuracy ?? null, errors: e, config: node.config ?? null });
  const json = {
    ...jsonHeader(ctx, paper.title),
    paper: { ...paper, reductionPct: paperReduction, citation: citations.distillation },
    testExamples: n,
    student: nodeJson(student, alone),
    pairs: pairs.map((p) => ({
      teacher: { ...nodeJson(p.teacher, p.errors.teacher), model: modelOf(p.teacher) },
      distilled: nodeJson(p.distilled, p.errors.distilled),
      reductionPct: p.reduction,
      teacherAgreement: p.distilled.metrics?.teacherAgreement ?? null,
      pass: p.pass,
    })),
    stageTimes: times,
    runDurationMs: record.durationMs,
    firstRunWallMs: ctx.firstWallMs == null ? null : Math.round(ctx.firstWallMs),
    cachedRerun: ctx.rerun,
  };
  return { json, md: lines };
}

// ---------------------------------------------------------------- summary

function summary() {
  const load = (name) => {
    const f = join(resultsDir, `${name}.json`);
    return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
  };
  const dc = ['lenet300', 'lenet5'].map(load).filter(Boolean);
  const di = load('distillation');
  if (!dc.length && !di) return;
  const lines = ['## Reproducing the papers', ''];
  const dates = [...dc, di].filter(Boolean).map((r) => `\`${r.benchmark}\` ${r.date.slice(0, 10)}`);
  const m = (dc[0] ?? di).machine;
  lines.push(`\`node bench/papers.mjs\` (${dates.join(', ')}; ${describeMachine(m)}). Details per recipe in bench/results/.`, '');
  if (dc.length) {
    lines.push(
      '**Deep Compression** (Han, Mao & Dally, ICLR 2016, Table 1): test error and size, float32 vs compressed.',
      '',
      '| model | candidate | error: paper | error: modelpress | float32 -> compressed: paper | modelpress (packed) | modelpress (tfjs + brotli) | cached re-run | targets |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of dc) {
      const p = r.paper;
      for (const c of r.candidates) {
        lines.push(
          row([
            `[${p.title.replace(/ \(.*/, '')}](bench/results/${r.benchmark}.md)`,
            `\`${c.label}\``,
            `${pct(p.baselineErrorPct)} -> ${pct(p.finalErrorPct)}`,
            `${pct(c.errorPct.baseline)} -> ${pct(c.errorPct.final)}`,
            `${p.baselineKB} KB -> ${p.finalKB} KB (${p.compression}x)`,
            `${kb(r.reference.float32Bytes)} -> ${kb(c.sizeBytes.packed)} (${ratio(c.ratios.packed)})`,
            `${kb(c.sizeBytes.brotli)} (${ratio(c.ratios.brotli)})`,
            r.cachedRerun ? `${(r.cachedRerun.wallMs / 1000).toFixed(1)} s` : '-',
            verdictText(c),
          ]),
        );
      }
    }
    lines.push('');
  }
  if (di) {
    lines.push(
      `**Knowledge distillation** (Hinton, Vinyals & Dean 2015, MNIST): test errors out of ${(di.testExamples ?? 10000).toLocaleString('en-US')}.`,
      '',
      '| | teacher | teacher errors | student alone | distilled student | errors removed | cached re-run | target |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      row(['paper', di.paper.teacher.description, String(di.paper.teacher.errors), String(di.paper.student.errors), `${di.paper.distilled.errors} (T = ${di.paper.distilled.temperature})`, pct(di.paper.reductionPct, 0), '', '']),
      ...di.pairs.map((p) =>
        row([
          '[modelpress](bench/results/distillation.md)',
          `\`${p.teacher.node}\`: ${p.teacher.model}`,
          String(p.teacher.errors ?? '-'),
          String(di.student.errors ?? '-'),
          `${p.distilled.errors ?? '-'} (T = ${p.distilled.config?.temperature ?? '-'})`,
          pct(p.reductionPct, 0),
          di.cachedRerun ? `${(di.cachedRerun.wallMs / 1000).toFixed(1)} s` : '-',
          `>= ${di.paper.targets.minReductionPct}%: ${mark(p.pass)}`,
        ]),
      ),
      '',
    );
  }
  writeFileSync(join(resultsDir, 'papers-summary.md'), `${lines.join('\n')}\n`);
  process.stderr.write(`wrote ${show(join(resultsDir, 'papers-summary.md'))}\n`);
  updateReadme(lines.slice(1).join('\n').trim());
}

/**
 * The README shows the summary between two markers, so it always states the
 * numbers the last benchmark wrote (never hand-copied ones). Only the default
 * results directory updates it: a trial run elsewhere leaves it alone.
 */
function updateReadme(body) {
  const file = join(root, 'README.md');
  const [start, end] = ['<!-- papers:start -->', '<!-- papers:end -->'];
  if (resolve(resultsDir) !== resolve(root, 'bench', 'results') || !existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`);
  process.stderr.write(`updated the benchmark tables in ${show(file)}\n`);
}

// ---------------------------------------------------------------- main

let failed = false;
for (const target of targets) {
  try {
    const r = await bench(target);
    process.stdout.write(`\n${r.md.join('\n')}\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`papers: ${target.name}: ${error.message}\n`);
  }
}
summary();
process.exit(failed ? 1 : 0);
