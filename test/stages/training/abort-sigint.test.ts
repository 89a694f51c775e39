/**
 * Issue 14: built-in stages stop within a second or two of Ctrl-C, not at the
 * runner's 3 s grace kill. A real `modelpress run` child process, real worker
 * threads and real MNIST: the stage is interrupted mid-loop (after its first
 * progress event) and the whole process must exit 130 well before the grace
 * period would have ended it, with run.json saying `interrupted`.
 *
 * Before the fix, the loops called `signal.throwIfAborted()` but never
 * yielded to the worker's event loop (tfjs wasm `data()` resolves on the
 * microtask queue), so the abort message was never delivered and every
 * interrupt took the 3 s grace kill.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecord, report, startCli, statuses, stopIfRunning } from '../../run/helpers.js';
import type { Running } from '../../run/helpers.js';

const HEADER = `version: 1
name: abort-test
seed: 3
model: { build: { arch: mlp, units: [64] } }
data:
  train: { uses: mnist, split: train, limit: 600, flatten: true }
  test: { uses: mnist, split: test, limit: 300, flatten: true }
devices:
  box: { runtime: wasm, threads: 1, batch: 1 }
`;

/**
 * Each case: a recipe whose last stage loops long enough to be interrupted,
 * the text of a progress event that says that stage is inside the loop, and
 * the statuses run.json must record.
 */
const cases: { name: string; stages: string; inLoop: string; statuses: Record<string, string> }[] = [
  {
    name: 'train: between two batches',
    stages: `  - { id: train, uses: train, with: { data: train, epochs: 200, batchSize: 32 } }`,
    inLoop: '"unit":"epochs"',
    statuses: { model: 'ran', train: 'cancelled' },
  },
  {
    name: 'share: between two fine-tune batches',
    stages: `  - { id: train, uses: train, with: { data: train, epochs: 1, batchSize: 256 } }
  - { id: share, uses: share, with: { bits: 4, finetune: { data: train, epochs: 200, batchSize: 32 } } }`,
    inLoop: '"unit":"fine-tune epochs"',
    statuses: { model: 'ran', train: 'ran', share: 'cancelled' },
  },
  {
    name: 'distill: between two batches',
    stages: `  - { id: teacher, uses: train, with: { data: train, epochs: 1, batchSize: 256 } }
  - { id: distill, uses: distill, with: { teacher: teacher, data: train, epochs: 200, batchSize: 32, student: { build: { arch: mlp, units: [16] } } } }`,
    inLoop: '"unit":"fine-tune epochs"',
    statuses: { model: 'ran', teacher: 'ran', distill: 'cancelled' },
  },
  {
    name: 'evaluate: while measuring latency (the child process is killed)',
    stages: `  - { id: train, uses: train, with: { data: train, epochs: 1, batchSize: 256 } }
  - { id: eval, uses: evaluate, with: { data: test, latency: { minSeconds: 30, maxSeconds: 60 } } }`,
    inLoop: '"message":"latency of train',
    statuses: { model: 'ran', train: 'ran', eval: 'cancelled' },
  },
];

/** Exit within this long after SIGINT: well under the runner's 3 s grace kill, with room for a loaded machine. */
const STOP_WITHIN_MS = 2000;

describe('built-in stages stop on Ctrl-C between batches', () => {
  let dir: string;
  let run: Running | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-abort-'));
  });
  afterEach(() => stopIfRunning(run));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test.each(cases)('$name', async ({ name, stages, inLoop, statuses: expected }) => {
    const slug = name.split(':')[0]!;
    const recipe = join(dir, `${slug}.yaml`);
    await writeFile(recipe, `${HEADER}stages:\n${stages}\n`);
    const out = join(dir, `out-${slug}`);
    const target = Object.keys(expected).at(-1)!;
    const cli = startCli(['run', recipe, '--out', out, '--cache-dir', join(dir, `cache-${slug}`), '--backend', 'wasm', '--jobs', '1'], dir);
    run = cli;
    await waitForProgress(join(out, 'run.log.jsonl'), target, inLoop, 50_000, () => cli.stderr());
    const signalledAt = performance.now();
    cli.child.kill('SIGINT');
    const exit = await cli.exited;
    const stopMs = Math.round(performance.now() - signalledAt);
    await report(`abort ${slug}`, { stopMs });

    expect([exit.code, exit.signal]).toEqual([130, null]);
    expect({ stopMs, within: stopMs < STOP_WITHIN_MS }).toEqual({ stopMs, within: true });
    const record = await readRecord(out);
    expect(record.status).toBe('interrupted');
    expect(statuses(record)).toEqual(expected);
    // The worker stopped by itself, not by the grace kill.
    expect(await readFile(join(out, 'run.log.jsonl'), 'utf8')).not.toContain('ms grace');
  }, 90_000);
});

/** Waits until `node` has reported progress containing `text` (so it is inside its loop). */
async function waitForProgress(log: string, node: string, text: string, timeoutMs: number, describe: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(log)) {
      const lines = (await readFile(log, 'utf8')).split('\n');
      const n = lines.filter((l) => l.includes('"node-progress"') && l.includes(`"node":"${node}"`) && l.includes(text)).length;
      if (n >= 1) return;
    }
    if (Date.now() > until) throw new Error(`${node} reported no progress within ${timeoutMs} ms\n${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
