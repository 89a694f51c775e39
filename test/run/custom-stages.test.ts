/**
 * Issue "Foundation 2/2" (j): the custom-stages example works as a user runs
 * it: `modelpress run recipe.yaml` in a project where modelpress is
 * installed, then `modelpress reproduce` on its run.json.
 *
 * The example (recipe + stage files, byte for byte) is copied into a temp
 * project whose node_modules links to this package and its tfjs, because
 * `reproduce` writes a transient recipe file next to the recipe, and tests
 * must not write into examples/.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.js';
import { REPO_ROOT, readRecord } from './helpers.js';

describe('examples/custom-stages', () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  // 10 stage workers (run + reproduce), each loading tfjs on the run's backend
  // before the plugins (seconds each on a busy 2-core machine).
  test('runs, writes the report of 4 candidates, and reproduces identically', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-custom-stages-'));
    await cp(join(REPO_ROOT, 'examples', 'custom-stages'), dir, { recursive: true });
    await mkdir(join(dir, 'node_modules'));
    await symlink(REPO_ROOT, join(dir, 'node_modules', 'modelpress'), 'dir');
    await symlink(join(REPO_ROOT, 'node_modules', '@tensorflow'), join(dir, 'node_modules', '@tensorflow'), 'dir');

    const run = await runCli(['run', 'recipe.yaml', '--out', 'out', '--cache-dir', 'cache'], { cwd: dir });
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toContain('succeeded: 5 ran, 0 cached, 0 failed, 0 skipped');
    const record = await readRecord(join(dir, 'out'));
    expect(record.status).toBe('succeeded');
    expect(record.nodes.map((n) => n.id)).toEqual(['init', 'prune[sparsity=0.5]', 'prune[sparsity=0.8]', 'prune[sparsity=0.95]', 'report']);

    const reportFile = join(dir, 'out', 'artifacts', 'report', 'report', 'report.json');
    expect(existsSync(reportFile)).toBe(true);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as { candidates: { node: string }[]; best: string };
    expect(report.candidates.map((c) => c.node)).toEqual(['init', 'prune[sparsity=0.5]', 'prune[sparsity=0.8]', 'prune[sparsity=0.95]']);
    expect(report.best).toBe('prune[sparsity=0.95]');

    const repro = await runCli(['reproduce', join('out', 'run.json'), '--out', 'repro'], { cwd: dir });
    expect([repro.code, repro.stderr]).toEqual([0, '']);
    expect(repro.stdout).toContain('all artifacts identical\n');
    expect(repro.stdout.match(/^ {2}same {4}/gm)).toHaveLength(5);
    expect(repro.stdout).not.toContain('DIFFERS');
    // It wrote its transient recipe next to the recipe and removed it again.
    expect((await readdir(dir)).filter((f) => f.includes('.reproduce'))).toEqual([]);
  }, 180_000);
});
