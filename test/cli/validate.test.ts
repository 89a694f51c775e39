import { join } from 'node:path';
import { parse } from 'yaml';
import { removeTree, writeTree } from '../recipe/helpers.js';
import { runCli } from './run-cli.js';

describe('modelpress validate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTree({
      'bad.yaml': 'version: 1\nname: demo\nstages:\n  - id: a\n    uses: purne\n    wiht: {}\n',
      'broken.yaml': 'version: 1\nname: [demo\n',
      'shapes.yaml': 'version: 1\nname: demo\ndata:\n  train: { uses: csv, file: t.csv }\nmodel:\n  build: { arch: mlp, units: [8], inputShape: [784] }\nstages:\n  - id: train\n    uses: train\n',
      't.csv': '1,2,3,0\n4,5,6,1\n',
      'team.yaml': 'vars: { n: 3 }\n',
      'good.yaml': [
        'version: 1',
        'name: demo',
        'extends: [./team.yaml, modelpress:devices/web-mobile]',
        'plugins: [./stage.mjs]',
        'description: "${vars.n} epochs"',
        'stages:',
        '  - id: a',
        '    uses: count',
        '    with: { n: "${vars.n}" }',
        '',
      ].join('\n'),
      // A real plugin file, as a user would write it (see docs/plugins.md).
      'stage.mjs': [
        "import { writeFile } from 'node:fs/promises';",
        "import { join } from 'node:path';",
        'export default {',
        "  name: 'count', version: '1', outputs: ['report'],",
        "  schema: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer', minimum: 1 } } },",
        '  async run(ctx, config) {',
        "    const dir = await ctx.outputDir('report');",
        "    await writeFile(join(dir, 'count.json'), JSON.stringify({ n: config.n }));",
        '    return { outputs: { report: dir } };',
        '  },',
        '};',
        '',
      ].join('\n'),
    });
  });
  afterAll(() => removeTree(dir));

  test('a valid recipe exits 0 with a one-line summary', async () => {
    const r = await runCli(['validate', 'good.yaml'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('good.yaml: ok: recipe `demo`, 1 stage, 1 device, 0 datasets, 2 presets merged\n');
    expect(r.code).toBe(0);
  });

  test('--print shows the resolved recipe with vars, presets, overrides and defaults applied', async () => {
    const r = await runCli(['validate', '--print', 'good.yaml', '--set', 'vars.n=5'], { cwd: dir });
    expect(r.code).toBe(0);
    const printed = parse(r.stdout) as Record<string, any>;
    expect(printed.description).toBe('5 epochs');
    expect(printed.stages).toEqual([{ id: 'a', uses: 'count', with: { n: 5 } }]);
    expect(printed.devices['web-mobile'].runtime).toBe('wasm');
    expect(printed.extends).toBeUndefined();
    expect(r.stdout).toMatch(/^# resolved from: team\.yaml, .*web-mobile\.yaml, good\.yaml\n# overrides: vars\.n=5\n/);
  });

  test('an invalid recipe exits 2 with located diagnostics and a caret, never a stack trace', async () => {
    const r = await runCli(['validate', 'bad.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'bad.yaml:5:11: error[unknown-stage]: unknown stage type `purne` (did you mean `prune`?)',
        '  5 |     uses: purne',
        '    |           ^^^^^',
        '  = registered stages: `auto`, `distill`, `evaluate`, `export`, `model`, `prune`, `quantize`, `select`, `sensitivity`, `share`, `train`',
        '  = stages from plugins need the plugin listed under `plugins:`',
        '',
        'bad.yaml:6:5: error[unknown-key]: unknown key `wiht` in `stages[0]` (did you mean `with`?)',
        '  6 |     wiht: {}',
        '    |     ^^^^',
        '  = allowed keys: `id`, `uses`, `description`, `timeout`, `with`, `needs`, `matrix`',
        '',
        '2 problems in bad.yaml',
        '',
      ].join('\n'),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a dataset that does not fit the model exits 2, located, before anything runs', async () => {
    const r = await runCli(['validate', 'shapes.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        'shapes.yaml:4:18: error[shape-mismatch]: dataset `train` has 3 features per example but the model stage `train` feeds it to takes [784]: set `model.build.inputShape: [3]` or remove it to infer it from `train`',
        '  4 |   train: { uses: csv, file: t.csv }',
        '    |                  ^^^',
        '  = the model is built at shapes.yaml:6:10',
        '',
        '1 problem in shapes.yaml',
        '',
      ].join('\n'),
    );
  });

  test('a YAML syntax error exits 2 with its position', async () => {
    const r = await runCli(['validate', 'broken.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^broken\.yaml:3:1: error\[yaml-syntax\]: YAML syntax error: /);
  });

  test('a missing file and a usage error exit 2', async () => {
    const missing = await runCli(['validate', join('nope', 'r.yaml')], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('error[file-not-found]: no such file: nope/r.yaml\n\n1 problem in nope/r.yaml\n');
    const usage = await runCli(['valdate', 'good.yaml'], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown command 'valdate'\n\(Did you mean validate\?\)/);
  });
});
