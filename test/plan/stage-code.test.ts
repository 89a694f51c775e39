/**
 * The code digest in every cache key (src/plan/stage-code.ts), on real
 * files: a copy of the built dist/ (what worker threads run), local plugin
 * files, an npm plugin package. Editing one line of arithmetic in a copied
 * file changes the digests of exactly the stages that import it, and
 * `predict` (what `plan` prints) re-runs that stage and its descendants
 * with the reason.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CacheStore } from '../../src/cache/index.js';
import type { PlanGraph } from '../../src/plan/graph.js';
import { buildKeyContext } from '../../src/plan/key-context.js';
import { keyOf, keyRecord } from '../../src/plan/key-record.js';
import type { KeyContext } from '../../src/plan/key-record.js';
import { predict } from '../../src/plan/predict.js';
import { builtinStageEntry, defaultCodeRoot, importSpecifiers, RUNTIME_ENTRIES, stageCode } from '../../src/plan/stage-code.js';
import type { CodeRoot } from '../../src/plan/stage-code.js';
import { PACKAGE_ROOT } from '../../src/package-info.js';
import { BUILTIN_STAGES } from '../../src/stages/builtin.js';
import { graphOf as loadGraph, HEAD, load, useTempDirs, writeFiles } from './helpers.js';

const tempDir = useTempDirs();
const DIST = join(PACKAGE_ROOT, 'dist');

/** A copy of the built package's dist/ and package.json: a code root the test may edit. */
async function copyOfDist(): Promise<CodeRoot> {
  if (!existsSync(join(DIST, 'stages', 'builtin.js'))) throw new Error('dist/ is not built: run `npm run build` first');
  const root = await tempDir();
  await cp(DIST, join(root, 'dist'), { recursive: true });
  await cp(join(PACKAGE_ROOT, 'package.json'), join(root, 'package.json'));
  return { dir: join(root, 'dist') };
}

/** Replaces `from` (which must occur) by `to` in a file under the code root. */
async function edit(root: CodeRoot, file: string, from: string, to: string): Promise<void> {
  const path = join(root.dir, file);
  const text = await readFile(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
  await writeFile(path, text.replace(from, to));
}

const builtin = (name: string) => ({ def: { name }, source: 'builtin' });

describe('importSpecifiers', () => {
  test.each<[string, string, string[]]>([
    ['named import', "import { a } from './a.js';", ['./a.js']],
    ['multi-line import', "import {\n  a,\n  b,\n} from '../b.js';", ['../b.js']],
    ['re-export', 'export * from "./c.js";', ['./c.js']],
    ['side-effect import', "import './d.js';", ['./d.js']],
    ['dynamic import with a literal', "const m = await import('./e.js');", ['./e.js']],
    ['worker or child file found by URL', "new URL('./latency-child.js', import.meta.url)", ['./latency-child.js']],
    ['a package', "import tf from '@tensorflow/tfjs';", ['@tensorflow/tfjs']],
    ['no imports', 'const from = 1; export const x = from + 1;', []],
  ])('%s', (_name, text, specs) => {
    expect(importSpecifiers(text)).toEqual(specs);
  });
});

describe('stageCode of built-in stages', () => {
  test.each(BUILTIN_STAGES.map((s) => [s.name]))('`%s` has its entry file, which defines it, in src/ and dist/', async (name) => {
    const mod = (await import(join(PACKAGE_ROOT, 'src', builtinStageEntry(name).replace(/\.js$/, '.ts')))) as Record<string, unknown>;
    expect(Object.values(mod).some((v) => (v as { name?: unknown } | null)?.name === name)).toBe(true);
    expect(existsSync(join(DIST, builtinStageEntry(name)))).toBe(true);
  });

  test('the closure holds the stage, what it imports and the runtime, and nothing the stage does not import', async () => {
    const code = await stageCode(builtin('train'), PACKAGE_ROOT, { dir: DIST });
    const files = Object.keys(code.files);
    expect(files).toEqual(expect.arrayContaining(['modelpress/stages/train/train.js', 'modelpress/stages/training/train-loop.js', 'modelpress/data/mnist.js']));
    expect(files).toEqual(expect.arrayContaining(RUNTIME_ENTRIES.map((e) => `modelpress/${e}`)));
    expect(files).not.toContain('modelpress/stages/prune/prune.js');
    expect(files).not.toContain('modelpress/cli/main.js');
    expect(files).toEqual([...files].sort());
    expect(code.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('the default code root is dist/ once built: the code worker threads run', () => {
    expect(defaultCodeRoot()).toEqual({ dir: DIST });
  });

  test('is the same from a copy of dist/ (labels are relative), and changes with one line of arithmetic in what the stage imports', async () => {
    const root = await copyOfDist();
    const before = new Map<string, string>();
    for (const s of BUILTIN_STAGES) {
      const code = await stageCode(builtin(s.name), root.dir, root);
      expect(code.digest).toBe((await stageCode(builtin(s.name), PACKAGE_ROOT, { dir: DIST })).digest);
      before.set(s.name, code.digest);
    }
    // The 8-bit quantization range, used by quantize (and the size measurement of evaluate) only.
    await edit(root, 'formats/weight-quantization.js', 'uint8: 255', 'uint8: 254');
    const changed: string[] = [];
    for (const s of BUILTIN_STAGES) {
      if ((await stageCode(builtin(s.name), root.dir, root)).digest !== before.get(s.name)) changed.push(s.name);
    }
    expect(changed).toContain('quantize');
    expect(changed).not.toContain('train');
    expect(changed).not.toContain('distill');
    // A file of the runtime every stage runs on (the MNIST loader) changes them all.
    await edit(root, 'data/mnist.js', 'import', 'import ');
    for (const s of BUILTIN_STAGES) expect((await stageCode(builtin(s.name), root.dir, root)).digest).not.toBe(before.get(s.name));
  });

  test('a stage registered in code, with no entry file, is keyed by the source text of its run function', async () => {
    const a = await stageCode({ def: { name: 'inline', run: async () => 1 }, source: 'builtin' }, PACKAGE_ROOT, { dir: DIST });
    const b = await stageCode({ def: { name: 'inline', run: async () => 2 }, source: 'builtin' }, PACKAGE_ROOT, { dir: DIST });
    expect(Object.keys(a.files)).toContain('inline:inline');
    expect(a.digest).not.toBe(b.digest);
  });
});

describe('stageCode of plugins', () => {
  test('a local plugin: its file and the local files it imports, transitively, and modelpress/plugin', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'plugins/stage.mjs': "import { defineStage } from 'modelpress/plugin';\nimport { scale } from './lib/math.mjs';\nexport default defineStage({ name: 'x', version: '1', run: async () => scale(2) });\n",
      'plugins/lib/math.mjs': "import { k } from './k.mjs';\nexport const scale = (x) => x * k;\n",
      'plugins/lib/k.mjs': 'export const k = 3;\n',
    });
    const spec = { def: { name: 'x' }, source: './plugins/stage.mjs' };
    const before = await stageCode(spec, dir, { dir: DIST });
    expect(Object.keys(before.files)).toEqual(
      expect.arrayContaining(['plugins/stage.mjs', 'plugins/lib/math.mjs', 'plugins/lib/k.mjs', 'modelpress/plugin.js', 'modelpress/engine/engine.js']),
    );
    await writeFile(join(dir, 'plugins/lib/k.mjs'), 'export const k = 4;\n');
    expect((await stageCode(spec, dir, { dir: DIST })).digest).not.toBe(before.digest);
  });

  test('an npm plugin: package name and version, and the files of its closure inside the package', async () => {
    const dir = await tempDir();
    const pkg = (version: string) => JSON.stringify({ name: 'mp-plugin-demo', version, type: 'module', main: 'index.js' });
    await writeFiles(dir, {
      'node_modules/mp-plugin-demo/package.json': pkg('1.0.0'),
      'node_modules/mp-plugin-demo/index.js': "export { default } from './lib/stage.js';\n",
      'node_modules/mp-plugin-demo/lib/stage.js': "export default { name: 'demo', version: '1', run: async () => ({}) };\n",
    });
    const spec = { def: { name: 'demo' }, source: 'mp-plugin-demo' };
    const v1 = await stageCode(spec, dir, { dir: DIST });
    expect(Object.keys(v1.files)).toEqual(expect.arrayContaining(['mp-plugin-demo@1.0.0/index.js', 'mp-plugin-demo@1.0.0/lib/stage.js']));
    await writeFile(join(dir, 'node_modules/mp-plugin-demo/package.json'), pkg('1.0.1'));
    const v2 = await stageCode(spec, dir, { dir: DIST });
    expect(v2.digest).not.toBe(v1.digest);
    await writeFile(join(dir, 'node_modules/mp-plugin-demo/lib/stage.js'), "export default { name: 'demo', version: '1', run: async () => ({ a: 1 }) };\n");
    expect((await stageCode(spec, dir, { dir: DIST })).digest).not.toBe(v2.digest);
  });
});

/**
 * The graph of a recipe, with node configs re-created in this test's realm
 * (structuredClone under jest's vm returns outer-realm objects, which
 * canonicalJson rejects; see key-record.test.ts).
 */
async function graphOf(dir: string, yaml: string): Promise<PlanGraph> {
  const graph = await loadGraph(dir, yaml);
  for (const node of graph.nodes) node.config = JSON.parse(JSON.stringify(node.config));
  return graph;
}

describe('plan after a change to a built-in stage', () => {
  const RECIPE = `${HEAD}model: { build: { arch: mlp, units: [8] } }\nstages:\n  - { id: p, uses: prune, with: { sparsity: 0.9 } }\n  - { id: q, uses: quantize }\n  - { id: e, uses: evaluate }\n`;

  /** Stores an entry for every node under the key the planner computes, as `run` would. */
  async function storeAll(root: string, graph: PlanGraph, store: CacheStore, scope: string, keys: KeyContext): Promise<void> {
    const outputs = new Map<string, Record<string, string>>();
    for (const node of graph.nodes) {
      const record = keyRecord(node, node.inputs.map((id) => outputs.get(id)!), keys);
      const dir = join(root, 'work', node.id);
      await writeFiles(dir, { 'model.json': JSON.stringify({ format: 'layers-model', node: node.id }) });
      const entry = await store.put(keyOf(record), { outputs: { model: dir }, result: {}, record, node: node.id });
      await store.recordNode(scope, node.id, keyOf(record));
      outputs.set(node.id, { model: entry.outputs.model!.digest });
    }
  }

  test('re-runs that stage and its descendants, saying "stage code changed"; upstream stays cached', async () => {
    const code = await copyOfDist();
    const dir = await tempDir();
    const graph = await graphOf(dir, RECIPE);
    const recipe = await load(dir, RECIPE);
    const store = new CacheStore({ dir: join(dir, 'cache') });
    const scope = join(dir, 'r.yaml');
    const keys = () => buildKeyContext(recipe, 'wasm', {}, graph, { codeRoot: code });
    await storeAll(dir, graph, store, scope, await keys());
    const summary = async () =>
      (await predict(graph, { store, scope, keys: await keys() })).map((p) => (p.status === 'cached' ? `${p.node.id}: cached` : `${p.node.id}: run (${p.reasons.join('; ')})`));
    expect(await summary()).toEqual(['p: cached', 'q: cached', 'e: cached']);

    // One line of arithmetic: the compression ratio quantize reports.
    await edit(code, 'stages/quantize/quantize.js', 'weightBytesBefore / info.weightBytes', 'weightBytesBefore / info.weightBytes / 2');
    expect(await summary()).toEqual(['p: cached', 'q: run (stage code changed)', 'e: run (upstream q runs)']);
  });
});
