/**
 * The library API in-process (src/api/, what src/index.ts exports): expected
 * failures come back as located diagnostics, bad options as "Expected X, got
 * Y" TypeErrors before any work starts. The full run path (worker threads,
 * cache, a packed export) is covered by package.test.ts through the package.
 */
import { join } from 'node:path';
import { loadPacked, plan, run, validate, formatDiagnostic } from '../../src/index.js';
import { removeTree, writeTree } from '../recipe/helpers.js';

describe('library API', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTree({
      'bad.yaml': 'version: 1\nname: demo\nstages:\n  - id: a\n    uses: purne\n',
      'good.yaml': 'version: 1\nname: demo\nstages:\n  - id: a\n    uses: export\n    with: { format: packed }\n',
      'cycle.yaml': 'version: 1\nname: demo\nstages:\n  - { id: a, uses: export, needs: [b] }\n  - { id: b, uses: export, needs: [a] }\n',
    });
  });
  afterAll(() => removeTree(dir));

  test('validate: a located diagnostic, rendered as the CLI prints it', async () => {
    const r = await validate('bad.yaml', { cwd: dir });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => [d.code, d.path, d.loc?.line, d.loc?.column])).toEqual([['unknown-stage', 'stages[0].uses', 5, 11]]);
    expect(formatDiagnostic(r.diagnostics[0]!).split('\n').slice(0, 3)).toEqual([
      'bad.yaml:5:11: error[unknown-stage]: unknown stage type `purne` (did you mean `prune`?)',
      '  5 |     uses: purne',
      '    |           ^^^^^',
    ]);
  });

  test('validate: the recipe with schema defaults filled in; --set overrides apply', async () => {
    const r = await validate('good.yaml', { cwd: dir, set: ['stages.a.with.format=both'] });
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    expect(r.value.name).toBe('demo');
    expect(r.value.stages.map((s) => [s.id, s.uses, s.with])).toEqual([['a', 'export', { format: 'both', allowOutside: false, overwrite: false, foldBatchNorm: false, tflite: { io: 'float32', quantize: 'int8' } }]]);
  });

  test('plan: a cycle is a diagnostic, not an exception', async () => {
    const r = await plan('cycle.yaml', { cwd: dir, cacheDir: 'cache', backend: 'wasm' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics.map((d) => d.code)).toContain('dependency-cycle');
  });

  test('plan: every node with its prediction and the cache it looked in', async () => {
    const r = await plan('good.yaml', { cwd: dir, cacheDir: 'cache', backend: 'cpu' });
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    expect(r.value.cacheDir).toBe(join(dir, 'cache'));
    expect(r.value.backend).toBe('cpu');
    expect(r.value.nodes).toEqual([{ id: 'a', stage: 'a', uses: 'export', inputs: [], status: 'run', key: expect.stringMatching(/^[0-9a-f]{64}$/), reasons: ['never run before'] }]);
  });

  test.each([
    ['run', () => run('good.yaml', { jobs: 0 }), 'Expected `jobs` to be an integer >= 1, got 0'],
    ['run', () => run('good.yaml', { jobs: 1.5 }), 'Expected `jobs` to be an integer >= 1, got 1.5'],
    ['run', () => run('good.yaml', { backend: 'gpu' as never }), 'Expected `backend` to be one of tfjs-node, wasm, cpu, got "gpu"'],
    ['run', () => run('good.yaml', { workerMemoryMb: 8 }), 'Expected `workerMemoryMb` to be an integer >= 16, got 8'],
    ['run', () => run('good.yaml', { signal: 'stop' as never }), 'Expected `signal` to be an AbortSignal, got "stop"'],
    ['run', () => run('good.yaml', { onEvent: 1 as never }), 'Expected `onEvent` to be a function, got 1'],
    ['run', () => run('good.yaml', { set: 'a=1' as never }), 'Expected `set` to be an array of strings, got "a=1"'],
    ['run', () => run('', {}), 'Expected `recipePath` to be a non-empty string, got ""'],
    ['plan', () => plan('good.yaml', { cacheDir: 3 as never }), 'Expected `cacheDir` to be a non-empty string, got 3'],
    ['validate', () => validate('good.yaml', null as never), 'Expected `options` to be an object, got null'],
    ['loadPacked', () => loadPacked(42 as never), 'Expected `source` to be a file path or a Uint8Array, got number'],
    ['loadPacked', () => loadPacked(new Uint8Array(), { backend: 'tpu' as never }), 'Expected `backend` to be one of tfjs-node, wasm, cpu, got "tpu"'],
  ])('%s rejects a bad option: %s', async (_fn, call, message) => {
    await expect(call()).rejects.toThrow(new TypeError(message));
  });
});
