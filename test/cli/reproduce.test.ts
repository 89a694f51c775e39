/**
 * Issue 14: `modelpress reproduce` on a real run whose recipe reads a CSV by
 * a relative path and whose evaluate measures latency. Before the fix it
 * failed to find the data (it resolved `file: data/table.csv` from a temp
 * folder), and any evaluate with latency was DIFFERS. Now paths resolve from
 * the original recipe's folder, and the evaluate report is compared without
 * its measured values (latency, and the verdicts decided from it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.js';

/** 3 features, 2 classes, separable: the sign of the first feature. */
function table(rows: number): string {
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const a = ((i * 37) % 19) / 9.5 - 1;
    lines.push(`${a.toFixed(3)},${(((i * 11) % 7) / 7).toFixed(3)},${(((i * 5) % 13) / 13).toFixed(3)},${a > 0 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

const RECIPE = `version: 1
name: repro
seed: 5
model: { build: { arch: mlp, units: [8], inputShape: [3], classes: 2 } }
data:
  train: { uses: csv, file: data/table.csv }
devices:
  box: { runtime: wasm, threads: 1, batch: 1, budget: { latency_ms_p95: 1000 } }
stages:
  - { id: train, uses: train, with: { data: train, epochs: 2, batchSize: 16 } }
  - { id: eval, uses: evaluate, with: { data: train, devices: [box], latency: { warmup: 2, minRuns: 5, maxRuns: 20, maxSeconds: 0.5 } } }
`;

describe('reproduce', () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  test('resolves relative data paths from the recipe folder and compares evaluate without its latency', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-reproduce-'));
    const project = join(dir, 'project');
    await mkdir(join(project, 'data'), { recursive: true });
    await writeFile(join(project, 'data', 'table.csv'), table(120));
    await writeFile(join(project, 'recipe.yaml'), RECIPE);

    const run = await runCli(['run', 'recipe.yaml', '--out', 'out', '--cache-dir', 'cache', '--backend', 'wasm'], { cwd: project, timeoutMs: 120_000 });
    expect([run.code, run.stderr]).toEqual([0, '']);

    // From another folder, as a user would: the record names the recipe's folder.
    const repro = await runCli(['reproduce', join(project, 'out', 'run.json'), '--out', join(dir, 'repro')], { cwd: dir, timeoutMs: 120_000 });
    expect([repro.code, repro.stderr]).toEqual([0, '']);
    const lines = repro.stdout.split('\n').filter((l) => /^ {2}(same|DIFFERS) /.test(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ {2}same {4}model model {2}[0-9a-f]{12} == [0-9a-f]{12}$/);
    expect(lines[1]).toMatch(/^ {2}same {4}train model {2}[0-9a-f]{12} == [0-9a-f]{12}$/);
    expect(lines[2]).toMatch(
      /^ {2}same {4}eval report {2}[0-9a-f]{12} == [0-9a-f]{12}( {2}\(measured, not compared: report\.md, report\.json \/candidates\/\*\/latency, report\.json \/candidates\/\*\/devices, report\.json \/budgets\))?$/,
    );
    expect(repro.stdout).toContain('all artifacts identical\n');
    // The transient recipe was written beside the original and removed again.
    expect((await readdir(project)).filter((f) => f.includes('reproduce'))).toEqual([]);
    expect(existsSync(join(dir, 'repro', 'run.json'))).toBe(true);
  }, 240_000);
});
