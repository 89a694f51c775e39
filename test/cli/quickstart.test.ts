/**
 * The README's first command (issue 16): `modelpress run
 * examples/quickstart.yaml` compresses the shipped LeNet-300-100 against a
 * phone budget and says what happened: one line per candidate, the selected
 * model, the export. Run here on a small setting (--set: fewer examples, a
 * shorter latency measurement) so it takes seconds; the recipe, stages and
 * summary are the ones the README shows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from './run-cli.js';

const SMALL = [
  'data.finetune.limit=256',
  'data.test.limit=300',
  'stages.prune.with.finetune.epochs=1',
  'stages.eval.with.latency.maxSeconds=0.3',
];

describe('examples/quickstart.yaml', () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  test('compresses the shipped model and prints the story of the run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-quickstart-'));
    const args = ['run', resolve('examples/quickstart.yaml'), '--out', 'out', '--backend', 'wasm', ...SMALL.flatMap((s) => ['--set', s])];
    const run = await runCli(args, { cwd: dir, env: { MODELPRESS_CACHE_DIR: join(dir, 'cache') }, timeoutMs: 240_000 });
    expect(run.stderr).toBe('');
    expect([0, 3]).toContain(run.code);
    const lines = run.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith('eval: '));
    expect(lines[head]).toMatch(/^eval: 3 candidates on `test` \(300 examples; reference model \d+\.\d\d%\)$/);
    const cells = '(accuracy \\d+\\.\\d\\d%(?: \\([-+±]\\d+\\.\\d\\d pp\\))?) +size (\\d+(?:\\.\\d+)? KB) +p95 [\\d.]+ ms +web-mobile (ok|MISSED .+|UNSTABLE .+)';
    expect(lines[head + 1]).toMatch(new RegExp(`^ {2}model \\(reference\\) +${cells}$`));
    expect(lines[head + 2]).toMatch(new RegExp(`^ {2}prune +${cells}$`));
    expect(lines[head + 3]).toMatch(new RegExp(`^ {2}quantize +${cells}$`));
    // The shipped model is 1.02 MB of float32; quantize stores a quarter of it.
    expect(lines[head + 1]).toContain('size 1043 KB');
    expect(lines[head + 3]).toMatch(/ size 26\d KB /);
    const met = run.code === 0;
    expect(lines[head + 4]).toMatch(met ? /^selected: (prune|quantize) \(best size_gzip within the budgets\)$/ : /^selected: (prune|quantize) \(the closest to the budgets: none meets them\)$/);
    expect(lines[head + 5]).toBe('exported: pick (format both) -> out/artifacts/export/model');
    expect(existsSync(join(dir, 'out', 'artifacts', 'export', 'model', 'model.json'))).toBe(true);
  }, 250_000);
});
