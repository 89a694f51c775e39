/**
 * A real redis-server for the distributed tests, on 127.0.0.1 and a free
 * port, configured as BullMQ requires (noeviction) and as docs/distributed.md
 * recommends for a throwaway queue (no persistence). Each test that stops
 * Redis gets its own server.
 *
 * Where the binary is missing the tests skip visibly (the describe title says
 * why), unless MODELPRESS_REQUIRE_REDIS=1 (.ci/run sets it): then they fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const REDIS_BINARY = process.env.MODELPRESS_REDIS_SERVER ?? 'redis-server';

/** Whether redis-server can be started here. */
export const redisAvailable = spawnSync(REDIS_BINARY, ['--version'], { encoding: 'utf8' }).status === 0;

/** `describe`, or a visibly skipped describe naming what is missing; CI makes it mandatory. */
export function describeWithRedis(title: string, body: () => void): void {
  if (redisAvailable) return describe(title, body);
  if (process.env.MODELPRESS_REQUIRE_REDIS === '1') {
    return describe(title, () => test('redis-server is installed (MODELPRESS_REQUIRE_REDIS=1)', () => {
      throw new Error(`${REDIS_BINARY} not found: apt-get install redis-server`);
    }));
  }
  describe.skip(`${title} [skipped: ${REDIS_BINARY} not found; apt-get install redis-server]`, body);
}

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILL, as a crash or a pulled cable. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(REDIS_BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const until = Date.now() + 10_000;
  while (!out.includes('Ready to accept connections')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`redis-server did not start on port ${port}:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
