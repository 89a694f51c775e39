/**
 * `--queue` URLs and the start-up check: a bad URL is a usage error naming
 * what was expected, an unreachable Redis a one-line message (not a hang).
 */
import { checkRedis, parseQueueUrl } from '../../../src/run/queue/redis-connection.js';
import { freePort } from './redis-server.js';

describe('parseQueueUrl', () => {
  test.each([
    ['redis://127.0.0.1:6390', { url: 'redis://127.0.0.1:6390', host: '127.0.0.1', port: 6390, db: 0 }],
    ['redis://queue.lan', { url: 'redis://queue.lan', host: 'queue.lan', port: 6379, db: 0 }],
    ['redis://:s3cret@10.0.0.5:6379/2', { url: 'redis://:s3cret@10.0.0.5:6379/2', host: '10.0.0.5', port: 6379, db: 2, password: 's3cret' }],
    ['http://127.0.0.1:6379', '--queue expects a redis://host:port URL, got "http://127.0.0.1:6379"'],
    ['127.0.0.1:6379', '--queue expects a redis://host:port URL, got "127.0.0.1:6379"'],
    ['redis://h:1/x', '--queue expects a database number after the port (redis://host:port/0), got "x"'],
  ])('%s', (input, expected) => {
    expect(parseQueueUrl(input)).toEqual(expected);
  });
});

describe('checkRedis', () => {
  test('nothing listening: a message naming the URL and the refusal, within the connect timeout', async () => {
    const port = await freePort();
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersBefore = timers();
    const t0 = Date.now();
    const message = await checkRedis(parseQueueUrl(`redis://127.0.0.1:${port}`) as Exclude<ReturnType<typeof parseQueueUrl>, string>);
    expect(message).toBe(
      `cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; is redis-server running there (docs/distributed.md)?`,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    // No timer left behind to hold the CLI's exit (ioredis arms one when a closed socket is disconnected);
    // at most as many as before: one of jest's own may end meanwhile.
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  });
});
