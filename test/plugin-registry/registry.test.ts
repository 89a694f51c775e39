import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginError, StageRegistry } from '../../src/plugin-registry.js';
import type { StageDefinition } from '../../src/plugin.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import type { Diagnostic } from '../../src/recipe/diagnostic.js';

/** Plugin files used by these tests (see the README there). */
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'registry');

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temp dir holding `files` (relative name -> text), removed after the test. */
async function tempTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mp-registry-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const run = async () => ({ outputs: {} });
const stage = (over: Record<string, unknown> = {}) => ({ name: 'x', version: '1', outputs: ['model'], run, ...over }) as StageDefinition<any>;

/** Runs `f`, which must throw a PluginError; returns it. */
async function pluginError(f: () => unknown): Promise<PluginError> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(PluginError);
    return err as PluginError;
  }
  throw new Error('expected a PluginError');
}

describe('StageRegistry.register', () => {
  test.each<{ name: string; def: unknown; source?: string; message: string }>([
    {
      name: 'a bad stage name',
      def: stage({ name: 'Bad_Name' }),
      source: './mine.mjs',
      message: 'plugin ./mine.mjs: Expected stage `Bad_Name` name to be lowercase letters, digits and dashes (optionally scope/name), got "Bad_Name"',
    },
    {
      name: 'a missing name',
      def: { version: '1', outputs: [], run },
      message: 'plugin builtin: Expected stage name to be lowercase letters, digits and dashes (optionally scope/name), got undefined',
    },
    {
      name: 'a missing version',
      def: stage({ version: undefined }),
      source: 'team-stages',
      message: 'plugin team-stages: Expected stage `x` version to be a non-empty string, got undefined',
    },
    {
      name: 'an empty version',
      def: stage({ version: '' }),
      message: 'plugin builtin: Expected stage `x` version to be a non-empty string, got ""',
    },
    {
      name: 'a run that is not a function',
      def: stage({ run: 'go' }),
      message: 'plugin builtin: Expected stage `x` run to be a function, got string',
    },
    {
      name: 'outputs that are not a list of names',
      def: stage({ outputs: ['Model'] }),
      message: 'plugin builtin: Expected stage `x` outputs to be a list of lowercase names, got ["Model"]',
    },
    {
      name: 'a schema that is not an object',
      def: stage({ schema: 'object' }),
      message: 'plugin builtin: Expected stage `x` schema to be a JSON Schema object, got string',
    },
    {
      name: 'no definition at all',
      def: undefined,
      message: 'plugin builtin: Expected a stage definition object, got undefined',
    },
  ])('rejects $name with a TypeError cause', ({ def, source, message }) => {
    const registry = new StageRegistry();
    let err: unknown;
    try {
      registry.register(def as StageDefinition<any>, source);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).message).toBe(message);
    expect((err as PluginError).plugin).toBe(source ?? 'builtin');
    const cause = (err as PluginError).cause;
    expect(cause).toBeInstanceOf(TypeError);
    expect((cause as TypeError).message).toMatch(/^Expected /);
    expect(message).toBe(`plugin ${source ?? 'builtin'}: ${(cause as TypeError).message}`);
    expect(registry.names()).toEqual([]);
  });

  test.each<{ name: string; first: string; second: string; message: string }>([
    {
      name: 'a plugin reusing a built-in name',
      first: 'builtin',
      second: './stages/prune.mjs',
      message: 'plugin ./stages/prune.mjs: registers stage `x`, which is built in; stage names must be unique',
    },
    {
      name: 'two plugins with one name',
      first: './a.mjs',
      second: '@team/stages',
      message: 'plugin @team/stages: registers stage `x`, which is already registered by ./a.mjs; stage names must be unique',
    },
  ])('rejects a duplicate name: $name', async ({ first, second, message }) => {
    const registry = new StageRegistry();
    const original = stage();
    registry.register(original, first);
    const err = await pluginError(() => registry.register(stage({ version: '2' }), second));
    expect(err.message).toBe(message);
    expect(err.plugin).toBe(second);
    expect(registry.get('x')).toEqual({ def: original, source: first });
  });

  test.each<{ name: string; schema: object; message: string }>([
    {
      name: 'an unknown type',
      schema: { type: 'object', properties: { level: { type: 'integr' } } },
      message:
        'plugin ./p.mjs: the `with` schema of stage `x` does not compile: schema is invalid: data/properties/level/type must be equal to one of the allowed values, data/properties/level/type must be array, data/properties/level/type must match a schema in anyOf',
    },
    {
      name: 'an unknown keyword (ajv strict mode)',
      schema: { type: 'object', propertiez: {} },
      message: 'plugin ./p.mjs: the `with` schema of stage `x` does not compile: strict mode: unknown keyword: "propertiez"',
    },
  ])('rejects a `with` schema ajv cannot compile: $name', async ({ schema, message }) => {
    const registry = new StageRegistry();
    const err = await pluginError(() => registry.register(stage({ schema }), './p.mjs'));
    expect(err.message).toBe(message);
    expect(err.cause).toBeInstanceOf(Error);
    expect(registry.get('x')).toBeUndefined();
  });

  test('registers valid stages and lists names sorted', () => {
    const registry = new StageRegistry();
    registry.register(stage({ name: 'zeta' }));
    registry.register(stage({ name: 'team/alpha', schema: { type: 'object' } }), './team.mjs');
    expect(registry.names()).toEqual(['team/alpha', 'zeta']);
    expect(registry.get('team/alpha')?.source).toBe('./team.mjs');
    expect(registry.get('zeta')?.source).toBe('builtin');
    expect(registry.get('nope')).toBeUndefined();
  });

  test('registries are independent instances', () => {
    const a = new StageRegistry();
    const b = new StageRegistry();
    a.register(stage());
    expect(b.get('x')).toBeUndefined();
    b.register(stage());
    expect(b.names()).toEqual(['x']);
  });
});

describe('StageRegistry.loadPlugin', () => {
  test.each<{ name: string; spec: string; message: (dir: string) => string }>([
    {
      name: 'a plugin file that exports no stage',
      spec: './no-stage.mjs',
      message: () =>
        'plugin ./no-stage.mjs: exports no stage: export a stage made with defineStage() as the default export, or an array of them as `stages`',
    },
    {
      name: 'a plugin file that throws on import',
      spec: './throws.mjs',
      message: () => 'plugin ./throws.mjs: cannot be loaded: boom: plugin setup failed',
    },
    {
      name: 'a missing plugin file',
      spec: './missing.mjs',
      message: (dir) => `plugin ./missing.mjs: no such file: ${join(dir, 'missing.mjs')}`,
    },
    {
      name: 'a missing plugin file by absolute path',
      spec: join(FIXTURES, 'nowhere', 'p.mjs'),
      message: () => `plugin ${join(FIXTURES, 'nowhere', 'p.mjs')}: no such file: ${join(FIXTURES, 'nowhere', 'p.mjs')}`,
    },
    {
      name: 'an npm package plugin that is not installed',
      spec: 'modelpress-test-plugin-not-installed',
      message: (dir) =>
        `plugin modelpress-test-plugin-not-installed: is not installed (looked from ${dir}); install it with \`npm install modelpress-test-plugin-not-installed\``,
    },
    {
      name: 'a plugin stage without a version',
      spec: './no-version.mjs',
      message: () => 'plugin ./no-version.mjs: Expected stage `fx-nover` version to be a non-empty string, got undefined',
    },
    {
      name: 'a plugin stage whose run is not a function',
      spec: './run-not-function.mjs',
      message: () => 'plugin ./run-not-function.mjs: Expected stage `fx-norun` run to be a function, got string',
    },
    {
      name: 'a plugin stage whose schema does not compile',
      spec: './bad-schema.mjs',
      message: () =>
        'plugin ./bad-schema.mjs: the `with` schema of stage `fx-badschema` does not compile: schema is invalid: data/properties/level/type must be equal to one of the allowed values, data/properties/level/type must be array, data/properties/level/type must match a schema in anyOf',
    },
  ])('reports $name', async ({ spec, message }) => {
    const registry = new StageRegistry();
    const err = await pluginError(() => registry.loadPlugin(spec, FIXTURES));
    expect(err.message).toBe(message(FIXTURES));
    expect(err.plugin).toBe(spec);
    expect(registry.names()).toEqual([]);
  });

  test('a plugin that throws on import keeps the error as the cause', async () => {
    const err = await pluginError(() => new StageRegistry().loadPlugin('./throws.mjs', FIXTURES));
    expect((err.cause as Error).message).toBe('boom: plugin setup failed');
  });

  test('a duplicate name across plugin files names both files', async () => {
    const registry = new StageRegistry();
    await registry.loadPlugin('./one-default.mjs', FIXTURES);
    const err = await pluginError(() => registry.loadPlugin('./same-name.mjs', FIXTURES));
    expect(err.message).toBe('plugin ./same-name.mjs: registers stage `fx-one`, which is already registered by ./one-default.mjs; stage names must be unique');
    expect(registry.get('fx-one')?.def.version).toBe('1');
  });

  test('a default export registers one stage', async () => {
    const registry = new StageRegistry();
    expect(await registry.loadPlugin('./one-default.mjs', FIXTURES)).toEqual(['fx-one']);
    expect(registry.names()).toEqual(['fx-one']);
    expect(registry.get('fx-one')).toMatchObject({ source: './one-default.mjs', def: { name: 'fx-one', version: '1' } });
  });

  test('an array exported as `stages` registers every stage', async () => {
    const registry = new StageRegistry();
    expect(await registry.loadPlugin('./many-stages.mjs', FIXTURES)).toEqual(['fx/alpha', 'fx/beta']);
    expect(registry.names()).toEqual(['fx/alpha', 'fx/beta']);
    expect(registry.get('fx/beta')).toMatchObject({ source: './many-stages.mjs', def: { version: '2', fanIn: true } });
  });

  test('a relative path resolves from the given directory, not the working directory', async () => {
    const dir = await tempTree({ 'sub/p.mjs': "export default { name: 'fx-sub', version: '1', outputs: [], async run() { return { outputs: {} }; } };\n" });
    const registry = new StageRegistry();
    expect(await registry.loadPlugin('./sub/p.mjs', dir)).toEqual(['fx-sub']);
  });

  test('an npm package installed next to the recipe is loaded from there', async () => {
    const dir = await tempTree({
      'node_modules/@mp-test/stages/package.json': JSON.stringify({ name: '@mp-test/stages', version: '1.0.0', type: 'module', main: 'index.mjs' }),
      'node_modules/@mp-test/stages/index.mjs':
        "const run = async () => ({ outputs: {} });\nexport const stages = [{ name: 'mp-test/a', version: '1', outputs: [], run }];\n",
    });
    const registry = new StageRegistry();
    expect(await registry.loadPlugin('@mp-test/stages', dir)).toEqual(['mp-test/a']);
    expect(registry.get('mp-test/a')?.source).toBe('@mp-test/stages');
  });
});

describe('plugins through loadRecipe', () => {
  const HEAD = 'version: 1\nname: demo\n';
  const STAGE = "export default { name: 'fx-ok', version: '1', outputs: ['model'], async run() { return { outputs: {} }; } };\n";
  const lines = (ds: readonly Diagnostic[]) => ds.map((d) => `${d.loc ? `${d.loc.file}:${d.loc.line}:${d.loc.column} ` : ''}${d.code}: ${d.message}`);

  test.each<{ name: string; files: Record<string, string>; expected: (dir: string) => string[]; path: string }>([
    {
      name: 'a missing file in a flow list',
      files: { 'r.yaml': `${HEAD}plugins: [./ok.mjs, ./missing.mjs]\nstages:\n  - { id: a, uses: fx-ok }\n`, 'ok.mjs': STAGE },
      expected: (dir) => [`r.yaml:3:21 plugin-error: plugin ./missing.mjs: no such file: ${join(dir, 'missing.mjs')}`],
      path: 'plugins[1]',
    },
    {
      name: 'a plugin that exports no stage, in a block list',
      files: {
        'r.yaml': `${HEAD}plugins:\n  - ./ok.mjs\n  - ./empty.mjs\nstages:\n  - { id: a, uses: fx-ok }\n`,
        'ok.mjs': STAGE,
        'empty.mjs': 'export const x = 1;\n',
      },
      expected: () => [
        'r.yaml:5:5 plugin-error: plugin ./empty.mjs: exports no stage: export a stage made with defineStage() as the default export, or an array of them as `stages`',
      ],
      path: 'plugins[1]',
    },
    {
      name: 'a duplicate between two listed plugins points at the second',
      files: {
        'r.yaml': `${HEAD}plugins:\n  - ./ok.mjs\n  - ./again.mjs\nstages:\n  - { id: a, uses: fx-ok }\n`,
        'ok.mjs': STAGE,
        'again.mjs': STAGE,
      },
      expected: () => [
        'r.yaml:5:5 plugin-error: plugin ./again.mjs: registers stage `fx-ok`, which is already registered by ./ok.mjs; stage names must be unique',
      ],
      path: 'plugins[1]',
    },
    {
      name: 'a plugin that is not installed, with the stage it would provide',
      files: { 'r.yaml': `${HEAD}plugins: [mp-test-absent-plugin]\nstages:\n  - { id: a, uses: fx-ok }\n` },
      expected: (dir) => [
        `r.yaml:3:11 plugin-error: plugin mp-test-absent-plugin: is not installed (looked from ${dir}); install it with \`npm install mp-test-absent-plugin\``,
        'r.yaml:5:20 unknown-stage: unknown stage type `fx-ok`',
      ],
      path: 'plugins[0]',
    },
  ])('$name', async ({ files, expected, path }) => {
    const dir = await tempTree(files);
    const result = await loadRecipe(join(dir, 'r.yaml'), { registry: new StageRegistry(), cwd: dir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(lines(result.diagnostics)).toEqual(expected(dir));
    expect(result.diagnostics[0]!.path).toBe(path);
  });

  test('a recipe whose plugins load validates against their stages', async () => {
    const dir = await tempTree({ 'r.yaml': `${HEAD}plugins: [./ok.mjs]\nstages:\n  - { id: a, uses: fx-ok }\n`, 'ok.mjs': STAGE });
    const registry = new StageRegistry();
    const result = await loadRecipe(join(dir, 'r.yaml'), { registry, cwd: dir });
    expect(result.ok).toBe(true);
    expect(registry.get('fx-ok')?.source).toBe('./ok.mjs');
  });
});
