#!/usr/bin/env node
// Bundles `modelpress/loader` (src/loader/index.ts) into one self-contained
// browser script, dist/browser/modelpress-loader.js, exposing the global
// `modelpressLoader` ({ packedIOHandler, unpack, readPacked, PackedFormatError }).
// The browser runtime's measurement page loads it from modelpress's own
// 127.0.0.1 server; anyone may ship it next to a packed model. Run by
// `npm run build` after tsc. The loader imports tfjs types only, so the
// bundle contains no tfjs.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'browser', 'modelpress-loader.js');

await build({
  entryPoints: [join(root, 'src', 'loader', 'index.ts')],
  outfile,
  bundle: true,
  format: 'iife',
  globalName: 'modelpressLoader',
  platform: 'browser',
  target: ['es2019'],
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: '/* modelpress/loader for browsers: global `modelpressLoader`. Built by scripts/bundle-loader.mjs. */' },
});
console.log(`bundled ${outfile}`);
