/**
 * Issue 16: one cache per project. A recipe run in one folder of a project
 * (a package.json at its root) and `cache ls` run in another folder of it see
 * the same cache, `node_modules/.cache/modelpress` beside the package.json;
 * an old per-recipe `.modelpress/cache` is named with how to move it.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.js';

const RECIPE = `version: 1
name: tiny
seed: 3
model: { build: { arch: mlp, units: [4], inputShape: [3], classes: 2 } }
stages:
  - { id: quantize, uses: quantize, with: { weights: uint8 } }
`;

describe('the project cache', () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  test('cache ls in one folder lists the entries a recipe in another folder made', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-project-cache-'));
    const project = join(dir, 'project');
    await mkdir(join(project, 'compress'), { recursive: true });
    await mkdir(join(project, 'src', 'deep'), { recursive: true });
    await writeFile(join(project, 'package.json'), '{ "name": "app", "private": true }\n');
    await writeFile(join(project, 'compress', 'tiny.yaml'), RECIPE);
    const env = { MODELPRESS_CACHE_DIR: '' };

    const run = await runCli(['run', 'tiny.yaml', '--out', join(dir, 'out'), '--backend', 'wasm'], { cwd: join(project, 'compress'), env, timeoutMs: 120_000 });
    expect([run.code, run.stderr]).toEqual([0, '']);
    const cacheDir = join(project, 'node_modules', '.cache', 'modelpress');
    expect(existsSync(join(cacheDir, 'entries'))).toBe(true);
    expect(existsSync(join(project, 'compress', '.modelpress'))).toBe(false);

    const ls = await runCli(['cache', 'ls'], { cwd: join(project, 'src', 'deep'), env });
    expect([ls.code, ls.stderr]).toEqual([0, '']);
    expect(ls.stdout.split('\n')[0]).toBe(`cache ${cacheDir}: 2 entries`);
    const nodes = ls.stdout.split('\n').slice(1, 3).map((l) => l.trim().split(/\s+/)[1]).sort();
    expect(nodes).toEqual(['model', 'quantize']);

    const explain = await runCli(['cache', 'explain', 'quantize'], { cwd: project, env });
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/^quantize \(recipe .*tiny\.yaml\)\n {2}key [0-9a-f]{64}\n/);

    // An old per-recipe cache: not read, but named, with how to move it.
    await mkdir(join(project, 'compress', '.modelpress', 'cache', 'entries'), { recursive: true });
    const old = await runCli(['cache', 'ls', '--recipe', 'compress/tiny.yaml'], { cwd: project, env });
    expect(old.code).toBe(0);
    const legacy = join(project, 'compress', '.modelpress', 'cache');
    expect(old.stderr).toBe(
      `note: an old per-recipe cache is at ${legacy} and is no longer used; the project cache is ${cacheDir}.\n` +
        `  to keep its entries: mkdir -p '${cacheDir}' && cp -Rn '${legacy}/.' '${cacheDir}/' && rm -rf '${legacy}'\n`,
    );
  });
});
