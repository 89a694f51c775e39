/**
 * Issue 14: a plugin whose import never settles ends `validate` (and `run`)
 * with a located `plugin-error` after the import time limit, instead of
 * hanging forever (a pending timer in its top-level await) or exiting 13
 * with nothing printed (a top-level await on a promise nothing will ever
 * settle: Node sees an empty event loop and quits). Real CLI, real files;
 * the limit is lowered to 1 s through MODELPRESS_PLUGIN_IMPORT_TIMEOUT.
 */
import { removeTree, writeTree } from '../recipe/helpers.js';
import { runCli } from '../cli/run-cli.js';
import { StageRegistry } from '../../src/plugin-registry.js';

const recipe = (plugin: string) => ['version: 1', 'name: hangs', 'plugins:', `  - ${plugin}`, 'stages: []', ''].join('\n');

describe('plugin import time limit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTree({
      'never.yaml': recipe('./never.mjs'),
      // Nothing will ever settle this promise, and nothing keeps the event loop alive.
      'never.mjs': 'await new Promise(() => {});\nexport default {};\n',
      'timer.yaml': recipe('./timer.mjs'),
      // A timer keeps the loop alive: without a limit, validate waits for ~12 days.
      'timer.mjs': 'await new Promise((r) => setTimeout(r, 2 ** 30));\nexport default {};\n',
    });
  });
  afterAll(async () => removeTree(dir));

  test.each([
    ['awaits a promise nothing settles', 'never'],
    ['awaits a timer far in the future', 'timer'],
  ])('a plugin that %s: validate exits 2 with a located error after the limit', async (_what, name) => {
    const t0 = performance.now();
    const r = await runCli(['validate', `${name}.yaml`], { cwd: dir, env: { MODELPRESS_PLUGIN_IMPORT_TIMEOUT: '1' }, timeoutMs: 20_000 });
    const ms = performance.now() - t0;
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 2, signal: null });
    expect(r.stderr).toContain(
      `${name}.yaml:4:5: error[plugin-error]: plugin ./${name}.mjs: did not finish importing within 1 s: ` +
        'its top-level code awaits something that never settles (or is very slow); ' +
        'raise the limit with MODELPRESS_PLUGIN_IMPORT_TIMEOUT=<seconds> if it is only slow',
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(ms).toBeLessThan(15_000);
  });

  test('loadPlugin rejects bad options with "Expected X, got Y"', async () => {
    const registry = new StageRegistry();
    await expect(registry.loadPlugin('./never.mjs', dir, { importTimeoutMs: 0 })).rejects.toThrow('Expected importTimeoutMs to be a positive number of milliseconds, got 0');
  });

  test.each([
    ['30', 30_000],
    ['0.5', 500],
    [undefined, 30_000],
  ])('MODELPRESS_PLUGIN_IMPORT_TIMEOUT=%s -> %d ms', async (value, ms) => {
    const { importTimeoutFromEnv } = await import('../../src/plugin-registry.js');
    expect(importTimeoutFromEnv(value === undefined ? {} : { MODELPRESS_PLUGIN_IMPORT_TIMEOUT: value })).toBe(ms);
  });

  test('a bad MODELPRESS_PLUGIN_IMPORT_TIMEOUT is an error, not a silent default', async () => {
    const { importTimeoutFromEnv } = await import('../../src/plugin-registry.js');
    expect(() => importTimeoutFromEnv({ MODELPRESS_PLUGIN_IMPORT_TIMEOUT: 'soon' })).toThrow('Expected MODELPRESS_PLUGIN_IMPORT_TIMEOUT to be a positive number of seconds, got "soon"');
  });
});
