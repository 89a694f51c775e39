/**
 * `modelpress init` (issue 16): flags in, a commented recipe out that
 * `validate` accepts and `run` completes on a tiny model and dataset; every
 * bad answer is one line saying what was expected.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dataChoice, devicePresets, initCommand } from '../../src/cli/commands/init.js';
import type { InitOptions } from '../../src/cli/commands/init.js';
import type { Io } from '../../src/cli/io.js';
import { runCli } from './run-cli.js';

const FIXTURE = resolve('test/fixtures/models/converted-dense'); // Dense 3 -> 4 -> 2

/** 3 features, 2 classes: the sign of the first feature. */
function table(rows: number): string {
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const a = ((i * 37) % 19) / 9.5 - 1;
    lines.push(`${a.toFixed(3)},${(((i * 11) % 7) / 7).toFixed(3)},${(((i * 5) % 13) / 13).toFixed(3)},${a > 0 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

function captureIo(cwd: string): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTTY: false, cwd, env: {} as NodeJS.ProcessEnv, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

describe('modelpress init', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-init-'));
    cpSync(FIXTURE, join(dir, 'models', 'dense'), { recursive: true });
    mkdirSync(join(dir, 'data', 'npy'), { recursive: true });
    mkdirSync(join(dir, 'data', 'photos'), { recursive: true });
    writeFileSync(join(dir, 'data', 'table.csv'), table(200));
    writeFileSync(join(dir, 'data', 'npy', 'x.npy'), '');
    writeFileSync(join(dir, 'data', 'npy', 'y.npy'), '');
    writeFileSync(join(dir, 'data', 'notes.txt'), '');
  });
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  it('offers the shipped device presets', async () => {
    expect(await devicePresets()).toEqual(['microcontroller', 'node-server', 'web-desktop', 'web-mobile']);
  });

  describe('dataChoice', () => {
    const recipeDir = () => join(dir, 'compress');
    it.each<[string, (number | null)[] | null, unknown]>([
      ['mnist', [784], { kind: 'mnist', test: { uses: 'mnist', split: 'test', flatten: true, limit: 2000 } }],
      ['mnist', [28, 28, 1], { kind: 'mnist', test: { uses: 'mnist', split: 'test', limit: 2000 } }],
      ['data/table.csv', [3], { kind: 'csv', test: { uses: 'csv', file: '../data/table.csv' } }],
      ['data/npy', [3], { kind: 'npy', test: { uses: 'npy', x: '../data/npy/x.npy', y: '../data/npy/y.npy' } }],
      ['data/npy/x.npy', [3], { kind: 'npy', test: { uses: 'npy', x: '../data/npy/x.npy', y: '../data/npy/y.npy' } }],
      ['data/photos', [32, 32, 3], { kind: 'images', test: { uses: 'images', path: '../data/photos', size: [32, 32], channels: 3 } }],
      ['data/notes.txt', [3], { error: '--data data/notes.txt: Expected a .csv file, a folder with x.npy and y.npy, a folder of images (one sub-folder per class), or `mnist`, got a .txt' }],
      ['data/none.csv', [3], { error: '--data data/none.csv: no such file or folder' }],
    ])('%s (input %j)', (data, inputShape, expected) => {
      expect(dataChoice(data, dir, recipeDir(), { inputShape })).toEqual(expected);
    });
  });

  // [case, options, stderr]
  const refusals: [string, InitOptions, string][] = [
    ['no model with --yes', { yes: true, data: 'data/table.csv' }, 'modelpress init: --model is required without a terminal or with --yes: a tfjs model directory, e.g. --model models/my-model\n'],
    ['no data with --yes', { yes: true, model: 'models/dense' }, 'modelpress init: --data is required without a terminal or with --yes: a .csv file, a folder with x.npy and y.npy, a folder of images, or mnist\n'],
    ['an unknown device', { yes: true, model: 'models/dense', data: 'data/table.csv', device: 'toaster' }, 'modelpress init: --device: Expected one of microcontroller, node-server, web-desktop, web-mobile, got "toaster"\n'],
    ['a bad budget', { yes: true, model: 'models/dense', data: 'data/table.csv', budgetSizeKb: '-4' }, 'modelpress init: --budget-size-kb: Expected a number > 0, got "-4"\n'],
  ];
  test.each(refusals)('%s: exit 2, one line', async (_name, opts, stderr) => {
    const io = captureIo(dir);
    expect(await initCommand(opts, io)).toBe(2);
    expect(io.stderr).toBe(stderr);
  });

  it('refuses a model path that is not a model, with the inspect diagnostic', async () => {
    const io = captureIo(dir);
    expect(await initCommand({ yes: true, model: 'data', data: 'data/table.csv' }, io)).toBe(2);
    expect(io.stderr.split('\n')[0]).toBe(`${join(dir, 'data')}:1:1: error[file-unreadable]: no model.json (not a tfjs model directory)`);
  });

  it('asks for what the flags leave out, and takes the defaults on an empty answer', async () => {
    const io = captureIo(dir);
    const asked: string[] = [];
    const answers: Record<string, string> = { 'model (a tfjs model directory)': 'models/dense', 'budget size_kb': '2' };
    const ask = async (q: string, fallback: string | undefined) => {
      asked.push(`${q} [${fallback ?? ''}]`);
      return answers[q] ?? (q.startsWith('evaluation data') ? 'data/table.csv' : fallback ?? '');
    };
    expect(await initCommand({ out: 'asked.yaml' }, io, ask)).toBe(0);
    expect(asked).toEqual([
      'model (a tfjs model directory) []',
      'evaluation data (a .csv, a folder with x.npy and y.npy, a folder of images, or mnist) []',
      'device (microcontroller, node-server, web-desktop, web-mobile) [web-mobile]',
      'budget size_kb [none]',
      'budget size_gzip_kb [100]',
      'budget latency_ms_p95 [5]',
      'budget accuracy_drop_pp [1]',
    ]);
    const text = await readFile(join(dir, 'asked.yaml'), 'utf8');
    expect(text).toContain('\ndevices:\n  web-mobile:\n');
    expect(text).toContain('    budget: { size_kb: 2 }\n');
  });

  it('writes a recipe that validate accepts and run completes, and will not overwrite it', async () => {
    const env = { MODELPRESS_CACHE_DIR: join(dir, 'cache') };
    const init = await runCli(['init', '--model', 'models/dense', '--data', 'data/table.csv', '--device', 'node-server', '--budget-size-kb', '4', '--budget-accuracy-drop-pp', '100', '--yes'], { cwd: dir, env });
    expect([init.code, init.stderr]).toEqual([0, '']);
    expect(init.stdout).toBe(
      'model models/dense: Sequential, 3 layers, 26 params, input [3]\n' +
        'wrote compress/node-server.yaml\n' +
        'compress/node-server.yaml: ok: recipe `dense-node-server`, model from ../models/dense, 4 stages, 1 device, 1 dataset, 1 preset merged\n' +
        'next: npx modelpress run compress/node-server.yaml\n',
    );
    const text = await readFile(join(dir, 'compress', 'node-server.yaml'), 'utf8');
    expect(text).toContain('\nextends: [modelpress:devices/node-server]\n');
    expect(text).toContain('\nmodel: { from: ../models/dense }\n');
    expect(text).toContain('\n  test: { uses: csv, file: ../data/table.csv }\n');
    expect(text).toContain('\n    budget: { size_kb: 4, accuracy_drop_pp: 100 }\n');

    const validate = await runCli(['validate', 'compress/node-server.yaml'], { cwd: dir, env });
    expect([validate.code, validate.stderr]).toEqual([0, '']);

    // A shorter latency measurement than the recipe's 2 s per candidate: the test is about what init wrote.
    const run = await runCli(['run', 'compress/node-server.yaml', '--out', 'out', '--backend', 'wasm', '--set', 'stages.eval.with.latency.maxSeconds=0.3'], { cwd: dir, env, timeoutMs: 150_000 });
    expect([run.code, run.stderr]).toEqual([0, '']);
    const lines = run.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith('eval: 3 candidates on `test` (200 examples; reference model '));
    expect(head).toBeGreaterThan(0);
    expect(lines[head + 1]).toMatch(/^ {2}model \(reference\) {2}accuracy \d+\.\d\d% {2,}size [\d.]+ KB {2,}p95 [\d.]+ ms {2,}node-server /);
    expect(lines[head + 2]).toMatch(/^ {2}prune {2,}accuracy \d+\.\d\d% \([-+±]\d+\.\d\d pp\) {2,}size [\d.]+ KB {2,}p95 [\d.]+ ms {2,}node-server ok$/);
    expect(lines[head + 4]).toMatch(/^selected: (prune|quantize) \(best size within the budgets\) -> out\/artifacts\/pick\/model$/);

    const again = await runCli(['init', '--model', 'models/dense', '--data', 'data/table.csv', '--device', 'node-server', '--yes'], { cwd: dir, env });
    expect([again.code, again.stderr]).toEqual([2, 'modelpress init: compress/node-server.yaml exists; choose another --out, or --force to overwrite it\n']);
  }, 200_000);
});
