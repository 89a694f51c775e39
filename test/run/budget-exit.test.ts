/**
 * "When any budget is missed, the run still writes every artifact and
 * report, the summary names the closest candidate and which limit it missed,
 * and the exit code is 3." Real CLI, real training on a small MNIST slice,
 * the built-in evaluate stage.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.js';

const recipe = (sizeKb: number) => `version: 1
name: budget
seed: 3
model: { build: { arch: mlp, units: [16] } }
data:
  train: { uses: mnist, split: train, limit: 1000, flatten: true }
  test: { uses: mnist, split: test, limit: 300, flatten: true }
devices:
  phone: { runtime: wasm, budget: { size_kb: ${sizeKb} } }
stages:
  - id: train
    uses: train
    with: { epochs: 1, learningRate: 0.01 }
  - id: eval
    uses: evaluate
    with: { data: test, latency: { measure: never } }
`;

describe('budget verdicts and exit codes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-budget-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('a missed size budget exits 3 with the report written; a generous one exits 0', async () => {
    await writeFile(join(dir, 'tight.yaml'), recipe(1));
    const tight = await runCli(['run', 'tight.yaml', '--out', join(dir, 'tight'), '--cache-dir', join(dir, 'cache')], { cwd: dir, timeoutMs: 120_000 });
    expect(tight.stderr).toBe('');
    expect(tight.code).toBe(3);
    expect(tight.stdout).toMatch(/budget: MISSED: no candidate meets every budget; closest: train, missed phone size_kb \([\d.]+ KB vs 1 KB: \+[\d.]+ KB over\)/);
    const record = JSON.parse(await readFile(join(dir, 'tight', 'run.json'), 'utf8'));
    expect(record.status).toBe('succeeded');
    expect(record.nodes.find((n: { id: string }) => n.id === 'eval').metrics.budgets.met).toBe(false);
    expect(existsSync(join(dir, 'tight', 'artifacts', 'eval', 'report', 'report.md'))).toBe(true);
    // The run's own reports are written for a missed budget too.
    const html = await readFile(join(dir, 'tight', 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/https?:\/\//);
    expect(await readFile(join(dir, 'tight', 'report.md'), 'utf8')).toContain('size_kb');

    // Same model (cached), budget raised: only evaluate re-runs (devices are in its key), exit 0.
    await writeFile(join(dir, 'tight.yaml'), recipe(10_000));
    const ok = await runCli(['run', 'tight.yaml', '--out', join(dir, 'ok'), '--cache-dir', join(dir, 'cache')], { cwd: dir, timeoutMs: 120_000 });
    expect(ok.code).toBe(0);
    const rec2 = JSON.parse(await readFile(join(dir, 'ok', 'run.json'), 'utf8'));
    expect(rec2.nodes.map((n: { id: string; status: string }) => `${n.id}:${n.status}`)).toEqual(['model:cached', 'train:cached', 'eval:ran']);
    expect(rec2.nodes[2].reasons).toEqual(['recipe.devices.phone.budget.size_kb: 1 -> 10000']);
    expect(ok.stdout).toMatch(/budget: met: /);
  });
});
