/**
 * The http server the measurement page is loaded from: bound to 127.0.0.1 on
 * an ephemeral port, serving only the routes registered with it (no
 * directory is ever exposed: a route is an exact path mapped to one file or
 * one in-memory body), GET and HEAD only.
 *
 * Every response carries the headers that make the page cross-origin
 * isolated (COOP same-origin + COEP require-corp): without them Chromium
 * gives the page no SharedArrayBuffer, and tfjs-backend-wasm then falls back
 * to its single-threaded binary whatever `threads` asks for. CORP
 * same-origin lets the page's own subresources pass COEP. Nothing is cached
 * (a model route may be re-registered with other bytes).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';

/** MIME types by file extension; application/wasm is required for WebAssembly.instantiateStreaming. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.mpk': 'application/octet-stream',
};

/** Headers of every response (see the module comment for why). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/** One served path: a file on disk or bytes in memory, with its MIME type (default: from the extension). */
export type Route = { file: string; type?: string } | { body: string | Uint8Array; type?: string };

export interface StaticServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string;
  readonly port: number;
  /** Serves `route` at `path` (absolute, e.g. `/tf.min.js`); replaces an earlier route at the same path. */
  add(path: string, route: Route): void;
  /** Stops serving `path`. */
  remove(path: string): void;
  /** The registered paths, sorted. */
  paths(): string[];
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** The MIME type of `path` by its extension; octet-stream when unknown. */
export function mimeTypeOf(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Starts a server on 127.0.0.1 (ephemeral port) with `routes`. */
export async function startStaticServer(routes: Readonly<Record<string, Route>> = {}): Promise<StaticServer> {
  const table = new Map<string, Route>();
  const add = (path: string, route: Route): void => {
    if (!path.startsWith('/')) throw new TypeError(`Expected a route path starting with "/", got ${JSON.stringify(path)}`);
    table.set(path, route);
  };
  for (const [path, route] of Object.entries(routes)) add(path, route);

  const server = createServer((req, res) => {
    handle(table, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `${error instanceof Error ? error.message : String(error)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // 127.0.0.1, not localhost: never reachable from another machine, and no IPv6/IPv4 ambiguity.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    add,
    remove: (path) => void table.delete(path),
    paths: () => [...table.keys()].sort(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(table: Map<string, Route>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'method not allowed\n');
    return;
  }
  // Only the path is matched: a query string never selects a different file.
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  const route = table.get(path);
  if (!route) {
    send(res, 404, `not found: ${path}\n`);
    return;
  }
  const type = route.type ?? mimeTypeOf(path);
  if ('body' in route) {
    const body = typeof route.body === 'string' ? Buffer.from(route.body, 'utf8') : route.body;
    writeHead(res, 200, type, body.byteLength);
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const info = await stat(route.file).catch(() => undefined);
  if (!info?.isFile()) {
    send(res, 404, `not found: ${path} (its file ${route.file} is missing)\n`);
    return;
  }
  writeHead(res, 200, type, info.size);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(route.file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function writeHead(res: ServerResponse, status: number, type: string, length: number): void {
  res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Content-Length': String(length) });
}

function send(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.byteLength) });
  res.end(body);
}
