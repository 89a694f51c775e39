/**
 * Issue 14: `modelpress run recipe.yaml | head` closes stdout early. The
 * EPIPE handler used to exit 0 on the spot, abandoning the run without a
 * run.json. Now the CLI stops writing to stdout and the run finishes: its
 * exit code is the run's, and run.json is written.
 */
import { spawn } from 'node:child_process';
import { BIN } from '../cli/run-cli.js';
import { readRecord, statuses, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

describe('run: stdout closed early (| head)', () => {
  let ws: Workspace;
  afterAll(async () => {
    await ws?.remove();
  });

  test('the run finishes and writes run.json', async () => {
    ws = await workspace('epipe', [
      { id: 'a', uses: 'test/slow', with: { seconds: 0.5 } },
      { id: 'b', uses: 'test/slow', with: { seconds: 0.5 } },
      { id: 'c', uses: 'test/slow', with: { seconds: 0.5 } },
    ]);
    const out = ws.out('piped');
    const child = spawn(process.execPath, [BIN, 'run', ws.recipe, '--out', out, '--cache-dir', ws.cache, '--jobs', '1'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Like `head -1`: read the first chunk, then close the pipe's read end.
    child.stdout.once('data', () => child.stdout.destroy());
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(guard);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const record = await readRecord(out);
    expect(record.status).toBe('succeeded');
    expect(statuses(record)).toEqual({ a: 'ran', b: 'ran', c: 'ran' });
  });
});
