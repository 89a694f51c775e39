/**
 * Connections to the Redis behind the queue. Two rules shape them:
 * - a Redis that is down when a command starts is a clear error and an exit
 *   code, never a hang (ioredis retries forever by default), so every
 *   command first `checkRedis`es with a bounded connect;
 * - a Redis lost mid-run is given `lostAfterMs` to come back (a restart, a
 *   failover), then the connection ends and the caller fails cleanly.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

/** Default for `lostAfterMs`: how long a lost Redis may stay away before the run or worker gives up. */
export const DEFAULT_REDIS_LOST_MS = 10_000;

export interface QueueUrl {
  /** The URL as given, for messages. */
  url: string;
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
}

/**
 * Parses `redis://[user:password@]host[:port][/db]`.
 * @returns the parsed URL, or the "Expected ..., got ..." message for the CLI.
 */
export function parseQueueUrl(value: string): QueueUrl | string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `--queue expects a redis://host:port URL, got ${JSON.stringify(value)}`;
  }
  if (u.protocol !== 'redis:' || u.hostname === '') return `--queue expects a redis://host:port URL, got ${JSON.stringify(value)}`;
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname === '' || u.pathname === '/' ? 0 : Number(u.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) return `--queue expects a database number after the port (redis://host:port/0), got ${JSON.stringify(u.pathname.slice(1))}`;
  return {
    url: value,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

/** Options for one connection; BullMQ requires `maxRetriesPerRequest: null` on blocking ones. */
export function redisOptions(q: QueueUrl, lostAfterMs: number = DEFAULT_REDIS_LOST_MS): RedisOptions {
  const started = { at: 0 };
  return {
    host: q.host,
    port: q.port,
    db: q.db,
    ...(q.password ? { password: q.password } : {}),
    ...(q.username ? { username: q.username } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: 3000,
    // Reconnect every 500 ms while the outage is shorter than lostAfterMs,
    // then stop: the connection emits `end` and the caller gives up.
    retryStrategy(times: number) {
      if (times === 1) started.at = Date.now();
      return Date.now() - started.at > lostAfterMs ? null : 500;
    },
  };
}

/**
 * Connects once, with no retries, and pings. Resolves undefined when Redis
 * answers, else the message to print: `cannot reach Redis at redis://...:
 * connect ECONNREFUSED 127.0.0.1:6390; is redis-server running?`.
 */
export async function checkRedis(q: QueueUrl, timeoutMs = 3000): Promise<string | undefined> {
  const client = new Redis({ ...redisOptions(q), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, enableOfflineQueue: false });
  // The connect error itself (ECONNREFUSED ...); the rejection only says "Connection is closed".
  let cause: string | undefined;
  client.on('error', (error: Error) => (cause ??= error.message));
  try {
    await client.connect();
    await client.ping();
    const policy = await client.config('GET', 'maxmemory-policy').catch(() => undefined);
    const value = Array.isArray(policy) ? String(policy[1]) : undefined;
    // BullMQ loses jobs when Redis evicts keys; say so before anything is lost.
    if (value !== undefined && value !== 'noeviction') {
      return `Redis at ${q.url} has maxmemory-policy ${value}; BullMQ needs noeviction (redis-server --maxmemory-policy noeviction, docs/distributed.md)`;
    }
    return undefined;
  } catch (error) {
    return `cannot reach Redis at ${q.url}: ${cause ?? (error as Error).message}; is redis-server running there (docs/distributed.md)?`;
  } finally {
    // After a refused connect the socket is already closed: disconnect() would arm
    // ioredis's 2 s destroy timer on it, and that timer would hold the CLI's exit.
    if (client.status !== 'end') client.disconnect();
  }
}

/** A connection for BullMQ that ends (instead of retrying forever) once Redis stays away `lostAfterMs`. */
export function openRedis(q: QueueUrl, onLost: (reason: string) => void, lostAfterMs?: number): Redis {
  const client = new Redis(redisOptions(q, lostAfterMs));
  let lastError = 'connection closed';
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  client.on('end', () => onLost(`lost the connection to Redis at ${q.url} (${lastError})`));
  return client;
}
