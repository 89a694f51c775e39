/**
 * Issue 14: a plugin stage whose `run()` never settles. With `timeout:` the
 * node fails with a message naming the limit and the run ends (exit 1);
 * without one, Ctrl-C still ends the run (exit 130, `interrupted`). Real
 * CLI, real worker threads, a real plugin file.
 */
import { join } from 'node:path';
import { removeTree, writeTree } from '../recipe/helpers.js';
import { runCli } from '../cli/run-cli.js';
import { readRecord, startCli, stopIfRunning, waitForFile } from './helpers.js';
import type { Running } from './helpers.js';

// A plain stage object (what defineStage returns), so it loads without modelpress/plugin.
const PLUGIN = `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
export default {
  name: 'test/hang', version: '1', outputs: ['data'],
  schema: { type: 'object', additionalProperties: false, properties: {} },
  async run(ctx) {
    await writeFile(join(ctx.scratchDir, 'started'), 'started\\n');
    await new Promise(() => {}); // never settles, ignores ctx.signal
  },
};
`;

const recipe = (timeout?: string) =>
  ['version: 1', 'name: hang', 'plugins: [./hang.mjs]', 'stages:', '  - id: hang', '    uses: test/hang', ...(timeout ? [`    timeout: ${timeout}`] : []), ''].join('\n');

describe('stage timeout', () => {
  let dir: string;
  let run: Running | undefined;
  beforeAll(async () => {
    dir = await writeTree({
      'hang.mjs': PLUGIN,
      'limited.yaml': recipe('1s'),
      'unlimited.yaml': recipe(),
      'zero.yaml': recipe('0s'),
      'typo.yaml': recipe('10 minutes'),
    });
  });
  afterEach(() => stopIfRunning(run));
  afterAll(async () => removeTree(dir));

  test('`timeout: 1s` fails the node with a message naming the limit, and the run ends', async () => {
    const out = join(dir, 'runs', 'limited');
    const t0 = performance.now();
    const r = await runCli(['run', 'limited.yaml', '--out', out, '--cache-dir', join(dir, 'cache')], { cwd: dir, timeoutMs: 30_000 });
    const ms = performance.now() - t0;
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
    const record = await readRecord(out);
    expect(record.status).toBe('failed');
    const node = record.nodes.find((n) => n.id === 'hang')!;
    expect(node.status).toBe('failed');
    expect(node.error?.message).toBe(
      'stage hang (test/hang from ./hang.mjs) failed during run: timed out: still running after its `timeout: 1 s`, so it was stopped; ' +
        "raise the stage's `timeout` if it needs longer",
    );
    // 1 s limit + 3 s grace (the stage ignores the signal) + start-up; far from hanging.
    expect(ms).toBeLessThan(15_000);
  });

  test.each([
    ['zero', '7:14', 'Expected `timeout` to be a positive duration (seconds, or 500ms, 90s, 30m, 2h), got "0s"'],
  ])('`timeout` %s is a located error', async (name, at, message) => {
    const r = await runCli(['validate', `${name}.yaml`], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${name}.yaml:${at}: error[bad-value]: ${message}`);
  });

  test('`timeout` that is not a duration is a schema error', async () => {
    const r = await runCli(['validate', 'typo.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('typo.yaml:7:14: error[bad-value]: `stages[0].timeout` has an invalid value the string "10 minutes"');
    expect(r.stderr).toMatch(/\n\n1 problem in [^\n]*typo\.yaml\n$/);
  });

  test('without a timeout, Ctrl-C still ends a run whose stage never settles', async () => {
    const out = join(dir, 'runs', 'unlimited');
    const cli = startCli(['run', 'unlimited.yaml', '--out', out, '--cache-dir', join(dir, 'cache')], dir);
    run = cli;
    await waitForFile(join(out, '.work', 'hang', 'started'), 20_000, () => cli.stderr());
    const t0 = performance.now();
    cli.child.kill('SIGINT');
    const exit = await cli.exited;
    const ms = performance.now() - t0;
    expect([exit.code, exit.signal]).toEqual([130, null]);
    expect((await readRecord(out)).status).toBe('interrupted');
    expect(ms).toBeLessThan(8000); // the 3 s grace kill, then the run record
  });
});
