/**
 * A read-only static file server for one directory, on 127.0.0.1 with an
 * ephemeral port: the browser check loads report.html over http (not
 * file://) so that every request the page makes goes through one origin we
 * can tell apart from anything external.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, relative, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

export interface ReportServer {
  /** Origin of the server, e.g. http://127.0.0.1:40123 (no trailing slash). */
  origin: string;
  host: string;
  port: number;
  /** URL of a file inside the served directory. */
  urlOf(relativePath: string): string;
  close(): Promise<void>;
}

/** Serves `root` read-only on 127.0.0.1:<ephemeral>; paths outside `root` get 404. */
export async function serveDirectory(root: string): Promise<ReportServer> {
  const base = resolve(root);
  const server = createServer((req, res) => {
    void (async () => {
      let pathname: string;
      try {
        pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const file = resolve(base, `.${pathname}`);
      const rel = relative(base, file);
      // Nothing above the run directory is ever served (`..`, absolute paths).
      if (rel.startsWith('..') || rel.split(sep).includes('..') || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404).end();
        return;
      }
      try {
        const info = await stat(file);
        if (!info.isFile()) throw new Error('not a file');
        res.writeHead(200, {
          'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'content-length': info.size,
          'cache-control': 'no-store',
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    origin,
    host: '127.0.0.1',
    port,
    urlOf: (relativePath) => `${origin}/${relativePath.split(sep).map(encodeURIComponent).join('/')}`,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
