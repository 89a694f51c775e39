/**
 * Issue 14: "The backend is set before any stage code runs, so a plugin that
 * imports tfjs itself runs on the backend its key records." The worker loads
 * tfjs on the run's backend before it imports the recipe's plugins; without
 * that, a plugin's own `import * as tf` found no backend set and tfjs chose
 * cpu while the cache key said wasm.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../../src/api/run.js';
import { REPO_ROOT } from './helpers.js';

const PLUGIN = join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'tf-backend.mjs');

describe('worker: backend before plugin code', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-worker-backend-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('a plugin importing tfjs itself computes on the run backend (wasm), at import and in run()', async () => {
    const recipe = join(dir, 'recipe.yaml');
    await writeFile(recipe, stringify({ version: 1, name: 'backend', plugins: [PLUGIN], stages: [{ id: 'probe', uses: 'test/tf-backend' }] }));
    const result = await run(recipe, { cacheDir: join(dir, 'cache'), out: join(dir, 'out'), jobs: 1, backend: 'wasm' });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
    const { record } = result.value;
    expect(record.status).toBe('succeeded');
    expect(record.versions.backend).toBe('wasm');
    const probe = record.nodes.find((n) => n.id === 'probe')!;
    expect(probe.keyRecord).toMatchObject({ backend: 'wasm' });
    expect(probe.metrics).toEqual({ atImport: 'wasm', inRun: 'wasm', sum: 3, engine: 'wasm' });
  });
});
