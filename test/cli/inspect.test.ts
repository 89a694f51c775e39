/**
 * `modelpress inspect` through the real CLI (dist/, as users run it): the
 * table, --json, and bad paths as diagnostics with exit 2, no stack trace.
 * Needs `npm run build` first, like every test of the built CLI.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../measure/helpers.js';
import { runCli } from './run-cli.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'modelpress-inspect-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('the table of converted-dense, exactly', async () => {
  const r = await runCli(['inspect', path.join('models', 'converted-dense')], { cwd: path.dirname(FIXTURES) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(
    [
      'model: models/converted-dense (tfjs-layers, Sequential)',
      'inputs: dense_input [3]',
      'outputs: dense_1 [2]',
      '',
      '#  layer        class       output  params  non-zeros  weights  MACs  prune  prune structured  share  quantize',
      '1  dense_input  InputLayer  [3]          0          0  -           0  no     no                no     no',
      '2  dense        Dense       [4]         16         14  float32    12  yes    yes               yes    no',
      '3  dense_1      Dense       [2]         10          8  float32     8  yes    no                yes    no',
      '',
      'why not (each stage with its defaults, no `layers:`):',
      '  dense    quantize: kernel below minSize (12 < 256), bias below minSize (4 < 256)',
      "  dense_1  prune structured: layer `dense_1` is the model's output layer: removing its units would change the model's output",
      '  dense_1  quantize: kernel below minSize (8 < 256), bias below minSize (2 < 256)',
      '',
      'names for `layers:` / `exclude:` patterns:',
      '  prune:             dense, dense_1',
      '  prune structured:  dense',
      '  share:             dense, dense_1',
      '  quantize:          (none)',
      '  all layers:        dense_input, dense, dense_1',
      '',
      'file                     raw    gzip  brotli',
      'model.json            2.2 KB  0.7 KB  0.6 KB',
      'group1-shard1of1.bin  0.1 KB  0.1 KB  0.0 KB',
      'total                 2.3 KB  0.8 KB  0.7 KB',
      '',
      '3 layers, 26 params, 22 non-zeros (15.4% sparse), 20 MACs, 2.3 KB raw / 0.8 KB gzip / 0.7 KB brotli',
      '',
    ].join('\n'),
  );
});

test('--json prints the ModelReport: quantized storage per weight, sizes in bytes', async () => {
  const r = await runCli(['inspect', path.join(FIXTURES, 'quantized-dense'), '--json'], { cwd: tmp });
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report).toMatchObject({ version: 1, format: 'tfjs-layers', topology: 'Sequential', summary: { layers: 3, params: 26, nonZeros: 23, macs: 20 } });
  expect(report.files.map((f: { name: string; raw: number }) => [f.name, f.raw])).toEqual([
    ['model.json', 2607],
    ['group1-shard1of1.bin', 40],
  ]);
  expect(report.layers[1].weights.map((w: { name: string; storage: string }) => [w.name, w.storage])).toEqual([
    ['dense/kernel', 'uint8 affine'],
    ['dense/bias', 'uint16 affine'],
  ]);
  expect(report.stages.map((s: { id: string }) => s.id)).toEqual(['prune', 'prune-structured', 'share', 'quantize']);
});

describe('bad input: a diagnostic on stderr, exit 2, nothing on stdout', () => {
  const hint = '  = expected a tfjs model directory (model.json + weight shards) or its model.json, or a modelpress packed model (.mpk)';
  test.each([
    ['a missing directory', async () => 'missing', ['missing:1:1: error[file-not-found]: no such file or directory', hint, '', '1 problem in missing']],
    ['a directory that is not a model', async () => (await mkdir(path.join(tmp, 'plain'), { recursive: true }), 'plain'), ['plain:1:1: error[file-unreadable]: no model.json (not a tfjs model directory)', hint, '', '1 problem in plain']],
    [
      'a corrupt shard',
      async () => {
        await mkdir(path.join(tmp, 'cut'), { recursive: true });
        await copyFile(path.join(FIXTURES, 'converted-dense', 'model.json'), path.join(tmp, 'cut', 'model.json'));
        const shard = await readFile(path.join(FIXTURES, 'converted-dense', 'group1-shard1of1.bin'));
        await writeFile(path.join(tmp, 'cut', 'group1-shard1of1.bin'), shard.subarray(0, 50));
        return 'cut';
      },
      [
        `${path.join('cut', 'group1-shard1of1.bin')}:1:1: error[file-unreadable]: manifest describes 104 bytes, shards hold 50`,
        '  = a weight shard is missing, truncated or not the one model.json was written with; copy the model directory again',
        '',
        '1 problem in cut',
      ],
    ],
    [
      'a model.json that is not JSON',
      async () => (await writeFile(path.join(tmp, 'broken.json'), '{\n  "modelTopology": {,\n}\n'), 'broken.json'),
      [
        "broken.json:2:21: error[file-unreadable]: not valid JSON (Expected property name or '}' in JSON at position 22)",
        '  2 |   "modelTopology": {,',
        '    |                     ^',
        hint,
        '',
        '1 problem in broken.json',
      ],
    ],
  ])('%s', async (_what, make, lines) => {
    const target = await make();
    const r = await runCli(['inspect', target], { cwd: tmp });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${lines.join('\n')}\n`);
  });
});
