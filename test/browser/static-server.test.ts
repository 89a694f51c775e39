/**
 * The page's http server: exact-path whitelist, MIME types (application/wasm),
 * COOP/COEP on every response, 404 for anything else, 127.0.0.1 only.
 * No browser needed, but it lives with the browser tests it serves.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mimeTypeOf, startStaticServer } from '../../src/browser/static-server.js';
import type { StaticServer } from '../../src/browser/static-server.js';
import { pageRoutes } from '../../src/browser/session.js';

function get(url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static server', () => {
  let dir: string;
  let server: StaticServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-static-'));
    await writeFile(join(dir, 'model.json'), '{"a":1}');
    await writeFile(join(dir, 'secret.txt'), 'not served');
    server = await startStaticServer({
      '/': { body: '<!doctype html>', type: 'text/html; charset=utf-8' },
      '/m/model.json': { file: join(dir, 'model.json') },
      '/x.wasm': { body: new Uint8Array([0, 97, 115, 109]) },
      '/gone.bin': { file: join(dir, 'missing.bin') },
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('binds 127.0.0.1 on an ephemeral port', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
  });

  test('serves whitelisted routes with their MIME type and the isolation headers', async () => {
    const json = await get(`${server.origin}/m/model.json`);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.body.toString()).toBe('{"a":1}');
    expect(json.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(json.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(json.headers['cross-origin-resource-policy']).toBe('same-origin');
    const wasm = await get(`${server.origin}/x.wasm`);
    expect(wasm.headers['content-type']).toBe('application/wasm');
    expect([...wasm.body]).toEqual([0, 97, 115, 109]);
    const html = await get(`${server.origin}/?q=1`);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    const head = await get(`${server.origin}/m/model.json`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('7');
    expect(head.body.length).toBe(0);
  });

  test('404 for anything not registered (no directory listing, no traversal), 405 for other methods', async () => {
    for (const path of ['/m/secret.txt', '/m/', '/m/../m/secret.txt', '/%2e%2e/etc/passwd', '/gone.bin']) {
      const r = await get(`${server.origin}${path}`);
      expect(r.status).toBe(404);
      expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    }
    expect((await get(`${server.origin}/m/model.json`, 'POST')).status).toBe(405);
  });

  test('routes can be added and removed while serving', async () => {
    server.add('/later.mpk', { body: new Uint8Array([1, 2]) });
    const r = await get(`${server.origin}/later.mpk`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    server.remove('/later.mpk');
    expect((await get(`${server.origin}/later.mpk`)).status).toBe(404);
    expect(() => server.add('relative', { body: '' })).toThrow('Expected a route path starting with "/", got "relative"');
  });

  test('the page routes: stock tfjs, the three wasm binaries, the loader bundle', () => {
    expect(Object.keys(pageRoutes()).sort()).toEqual([
      '/',
      '/modelpress-loader.js',
      '/page.js',
      '/tfjs/tf-backend-wasm.min.js',
      '/tfjs/tf.min.js',
      '/tfjs/tfjs-backend-wasm-simd.wasm',
      '/tfjs/tfjs-backend-wasm-threaded-simd.wasm',
      '/tfjs/tfjs-backend-wasm.wasm',
    ]);
    expect(mimeTypeOf('/tfjs/tfjs-backend-wasm.wasm')).toBe('application/wasm');
    expect(mimeTypeOf('/a/b.unknown')).toBe('application/octet-stream');
  });
});
