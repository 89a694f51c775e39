/**
 * Issue "Foundation 2/2" (k): a broken plugin reaches the user as a located
 * `plugin-error` diagnostic naming the plugin file (exit 2), before anything
 * runs, never as a stack trace.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeTree, writeTree } from '../recipe/helpers.js';
import { runCli } from '../cli/run-cli.js';
import { WORK_PLUGIN } from './helpers.js';

const recipe = (plugin: string) =>
  ['version: 1', 'name: bad-plugin', 'plugins:', `  - ${WORK_PLUGIN}`, `  - ${plugin}`, 'stages:', '  - id: a', '    uses: test/hash-chain', '    with: { label: a }', ''].join('\n');

describe('run: plugin errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTree({
      'empty.yaml': recipe('./plugins/empty.mjs'),
      'plugins/empty.mjs': 'export const x = 1;\n',
      'bad-schema.yaml': recipe('./plugins/bad-schema.mjs'),
      'plugins/bad-schema.mjs': [
        'export default {',
        "  name: 'test/bad-schema', version: '1', outputs: ['data'],",
        "  schema: { type: 'nope' },",
        '  async run() { return { outputs: {} }; },',
        '};',
        '',
      ].join('\n'),
    });
  });
  afterAll(async () => removeTree(dir));

  test.each([
    [
      'a plugin that exports no stage',
      'empty',
      'plugin ./plugins/empty.mjs: exports no stage: export a stage made with defineStage() as the default export, or an array of them as `stages`',
    ],
    [
      'a plugin whose `with` schema does not compile',
      'bad-schema',
      'plugin ./plugins/bad-schema.mjs: the `with` schema of stage `test/bad-schema` does not compile: ',
    ],
  ])('%s: exit 2 with a located plugin-error', async (_what, name, message) => {
    const out = join(dir, 'runs', name);
    const r = await runCli(['run', `${name}.yaml`, '--out', out, '--cache-dir', join(dir, 'cache')], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const spec = `./plugins/${name}.mjs`;
    expect(r.stderr).toContain(`${name}.yaml:5:5: error[plugin-error]: ${message}`);
    expect(r.stderr).toContain(`\n  5 |   - ${spec}\n    |     ${'^'.repeat(spec.length)}\n`);
    expect(r.stderr).toMatch(/\n\n1 problem in [^\n]*\.yaml\n$/);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(existsSync(out)).toBe(false); // nothing ran
  });
});
