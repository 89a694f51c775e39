/**
 * A stage's code that changes on disk while a run is going (dist/ rebuilt, a
 * plugin edited) must not be cached under the key the run planned with: the
 * worker loads the code afresh, sees that it is not what the key describes,
 * and the node fails at load with a message that says what happened; the
 * next run plans with the new code and computes it.
 *
 * The edit is made for real, mid-run, by an upstream stage (`test/edit`)
 * rewriting the downstream stage's plugin file. The plugins export plain
 * stage objects, so they load from a temp dir without modelpress installed.
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { removeTree, writeTree } from '../recipe/helpers.js';
import { runCli } from '../cli/run-cli.js';
import { node, readRecord } from './helpers.js';

const EDITOR = `import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export default {
  name: 'test/edit',
  version: '1',
  description: 'replaces text in a file of the recipe directory',
  schema: { type: 'object', required: ['file', 'from', 'to'], properties: { file: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } },
  outputs: ['data'],
  async run(ctx, config) {
    const path = resolve(ctx.recipeDir, config.file);
    const text = await readFile(path, 'utf8');
    if (!text.includes(config.from)) throw new Error(\`\${config.file} does not contain \${config.from}\`);
    await writeFile(path, text.replace(config.from, config.to));
    const dir = await ctx.outputDir('data');
    await writeFile(resolve(dir, 'done.txt'), 'edited\\n');
    return { outputs: { data: dir } };
  },
};
`;

const TARGET = `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// revision 1
export default {
  name: 'test/target',
  version: '1',
  description: 'writes one file',
  schema: { type: 'object', properties: {} },
  outputs: ['data'],
  async run(ctx) {
    const dir = await ctx.outputDir('data');
    await writeFile(join(dir, 'out.txt'), 'target\\n');
    return { outputs: { data: dir } };
  },
};
`;

function recipe(from: string, to: string): string {
  return stringify({
    version: 1,
    name: 'code-changed',
    plugins: ['./plugins/editor.mjs', './plugins/target.mjs'],
    stages: [
      { id: 'edit', uses: 'test/edit', with: { file: 'plugins/target.mjs', from, to } },
      { id: 'target', uses: 'test/target', needs: ['edit'] },
    ],
  });
}

describe('run: stage code changed on disk during the run', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map(removeTree)));

  test.each([
    ['its version', "version: '1'", "version: '2'", 'stage `test/target` is version 2 in the code on disk but was version 1 when this run was planned'],
    ['its plugin file only', '// revision 1', '// revision 2', 'plugin ./plugins/target.mjs, which defines stage `test/target`, changed on disk after this run started'],
  ])('%s: the node fails at load, nothing is cached for it, the next run computes it', async (_what, from, to, message) => {
    const dir = await writeTree({ 'recipe.yaml': recipe(from, to), 'plugins/editor.mjs': EDITOR, 'plugins/target.mjs': TARGET });
    dirs.push(dir);
    const run = (out: string) => runCli(['run', 'recipe.yaml', '--out', out, '--cache-dir', 'cache'], { cwd: dir });

    const first = await run('run1');
    expect(first.code).toBe(1);
    const record = await readRecord(join(dir, 'run1'));
    expect(node(record, 'edit').status).toBe('ran');
    expect(node(record, 'target')).toMatchObject({ status: 'failed', error: { phase: 'load' } });
    expect(node(record, 'target').error!.message).toContain(message);
    expect(node(record, 'target').error!.message).toContain('run the recipe again');
    expect(first.stdout).toContain(message);
    expect(first.stderr).not.toMatch(/^\s+at /m);

    // The edit stage is cached (so it does not edit again); the target now runs with the code on disk.
    const second = await run('run2');
    expect([second.code, second.stderr]).toEqual([0, '']);
    const again = await readRecord(join(dir, 'run2'));
    expect([node(again, 'edit').status, node(again, 'target').status]).toEqual(['cached', 'ran']);
  });
});
