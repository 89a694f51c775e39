/**
 * Issue 14: `import('modelpress')` works from another directory. A temp
 * project whose node_modules/modelpress links to this package resolves
 * 'modelpress', 'modelpress/plugin' and 'modelpress/loader' through
 * package.json "exports" (dist/, so `npm run build` first), exactly as a user's
 * project does. It runs docs/api.md's example as written (recipe.yaml +
 * compress.mjs, extracted from the page) and asserts the output the page
 * shows, then a plugin author's script: a stage tested with the public
 * harness, and the packed file read back through the loader.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../run/helpers.js';

const exec = promisify(execFile);

/** The fenced blocks of a markdown page whose first line names a file (`# recipe.yaml`, `// compress.mjs`), and the `text` block after them. */
export function docFiles(markdown: string): { files: Map<string, string>; output: string | undefined } {
  const files = new Map<string, string>();
  let output: string | undefined;
  for (const m of markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
    const [, lang, body] = m as unknown as [string, string, string];
    const named = /^(?:#|\/\/) (\S+\.(?:yaml|mjs))\n/.exec(body);
    if (named) files.set(named[1]!, body);
    else if (lang === 'text' && files.size > 0 && output === undefined) output = body;
  }
  return { files, output };
}

const PLUGIN_SCRIPT = `
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createStageHarness, defineStage, formatDiagnostic, runEpochs, finetune, selectLayers } from 'modelpress/plugin';
import { readPacked } from 'modelpress/loader';

const stage = defineStage({
  name: 'demo/sum',
  version: '1',
  schema: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer', minimum: 1, default: 3 } } },
  outputs: ['note'],
  async run(ctx, config) {
    const tf = await ctx.engine.tf();
    const sum = tf.tidy(() => tf.sum(tf.ones([config.n])).dataSync()[0]);
    ctx.progress({ done: 1, total: 1 });
    return { outputs: { note: await ctx.outputDir('note') }, metrics: { sum, backend: tf.getBackend() } };
  },
});

const h = await createStageHarness({ backend: 'wasm' });
const bad = h.validate(stage, { n: 0 });
console.log(bad.diagnostics.map(formatDiagnostic).join('\\n'));
const ctx = h.context('sum');
const result = await h.runIn(ctx, stage, {});
console.log(JSON.stringify({ metrics: result.metrics, progress: ctx.progressEvents }));
await h.cleanup();
console.log([runEpochs, finetune, selectLayers].map((f) => typeof f).join(' '));

const record = JSON.parse(await readFile(join('out', 'run.json'), 'utf8'));
const packed = readPacked(new Uint8Array(await readFile(join('out', record.artifacts.export.model, 'model.mpk'))));
console.log(packed.tensors.map((w) => w.name + ' ' + JSON.stringify(w.shape)).join(', '));
`;

describe("the package, imported by name from another directory", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-package-'));
    await mkdir(join(dir, 'node_modules'));
    await symlink(REPO_ROOT, join(dir, 'node_modules', 'modelpress'), 'dir');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("docs/api.md's example runs as written and prints what the page shows", async () => {
    const { files, output } = docFiles(await readFile(join(REPO_ROOT, 'docs', 'api.md'), 'utf8'));
    expect([...files.keys()]).toEqual(['recipe.yaml', 'compress.mjs']);
    for (const [name, body] of files) await writeFile(join(dir, name), body);
    const { stdout, stderr } = await exec(process.execPath, ['compress.mjs'], { cwd: dir });
    expect(stderr).toBe('');
    expect(stdout).toBe(output);
    expect(stdout).toContain('run succeeded: model ran, train ran, export ran\n');
  }, 120_000);

  test("modelpress/plugin's harness and modelpress/loader work for a plugin author", async () => {
    await writeFile(join(dir, 'plugin-check.mjs'), PLUGIN_SCRIPT);
    const { stdout, stderr } = await exec(process.execPath, ['plugin-check.mjs'], { cwd: dir });
    expect(stderr).toBe('');
    expect(stdout.split('\n')).toEqual([
      '<with of demo/sum>:1:1: error[out-of-range]: `with.n` must be >= 1, got 0',
      '{"metrics":{"sum":3,"backend":"wasm"},"progress":[{"done":1,"total":1}]}',
      'function function function',
      'dense1/kernel [784,8], dense1/bias [8], dense2/kernel [8,10], dense2/bias [10]',
      '',
    ]);
  }, 60_000);

  test("docs/plugins.md's harness example passes against examples/custom-stages (node --test)", async () => {
    const page = await readFile(join(REPO_ROOT, 'docs', 'plugins.md'), 'utf8');
    const block = /```js\n(\/\/ magnitude-prune\.test\.mjs[^\n]*\n[\s\S]*?)```/.exec(page);
    expect(block).not.toBeNull();
    await cp(join(REPO_ROOT, 'examples', 'custom-stages', 'stages'), join(dir, 'stages'), { recursive: true });
    await writeFile(join(dir, 'magnitude-prune.test.mjs'), block![1]!);
    const { stdout } = await exec(process.execPath, ['--test', '--test-reporter=tap', 'magnitude-prune.test.mjs'], { cwd: dir });
    expect(stdout).toContain('ok 1 - prunes half of every kernel');
    expect(stdout).toContain('# pass 1\n');
    expect(stdout).toContain('# fail 0\n');
  }, 60_000);
});
