/**
 * A stage's StageConfigError (e.g. a layer pattern that matches no layer)
 * reaches the user as a located recipe error: file:line:column of the key
 * under `with:`, the source line and a caret, not a stack trace.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.js';
import { REPO_ROOT } from './helpers.js';

test('StageConfigError is printed as a located diagnostic and recorded in run.json', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mp-config-error-'));
  try {
    const plugin = join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'config-error.mjs');
    await writeFile(
      join(dir, 'r.yaml'),
      ['version: 1', 'name: cfg', `plugins: [${JSON.stringify(plugin)}]`, 'stages:', '  - id: pick', '    uses: test/pick-layers', '    with:', '      layers:', '        dense_3: {}', ''].join('\n'),
    );
    const r = await runCli(['run', 'r.yaml', '--out', join(dir, 'out'), '--cache-dir', join(dir, 'cache')], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        '  FAILED pick',
        'r.yaml:9:9: error[stage-config]: stage pick: pattern `dense_3` matches no layer of the model',
        '  9 |         dense_3: {}',
        '    |         ^^^^^^^',
        '  = all layers: dense1, dense2',
      ].join('\n'),
    );
    expect(r.stdout).not.toMatch(/\n\s+at /);
    const record = JSON.parse(await readFile(join(dir, 'out', 'run.json'), 'utf8'));
    expect(record.nodes[0].error.cause.configPath).toEqual(['layers', 'dense_3']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
