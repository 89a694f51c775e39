/**
 * The standalone loader (`modelpress/loader`): imports nothing of modelpress
 * outside src/loader and nothing at run time from tfjs; loads from bytes, a
 * function and a URL (fetched from a local HTTP server); malformed input
 * fails with PackedFormatError.
 */
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../../src/engine/builders.js';
import { loadTf } from '../../src/engine/tf.js';
import type { Tf } from '../../src/engine/tf.js';
import { packArtifacts } from '../../src/formats/packed.js';
import { PackedFormatError, packedIOHandler, unpack } from '../../src/loader/index.js';

const LOADER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/loader');

let tf: Tf;
let packed: Uint8Array;
let expected: number[];
let input: number[][];
beforeAll(async () => {
  tf = await loadTf('cpu');
  const model = buildModel(tf, { arch: 'mlp', units: [12], inputShape: [6], classes: 3 }, 3);
  let artifacts: Parameters<typeof packArtifacts>[0] | undefined;
  await model.save({
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    },
  });
  packed = packArtifacts(artifacts!).bytes;
  input = [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, -1, 0.5, -0.5, 0, 2]];
  expected = Array.from((model.predict(tf.tensor2d(input)) as ReturnType<typeof tf.tensor>).dataSync());
  model.dispose();
});

async function predictWith(handler: ReturnType<typeof packedIOHandler>): Promise<number[]> {
  const model = await tf.loadLayersModel(handler);
  const out = Array.from((model.predict(tf.tensor2d(input)) as ReturnType<typeof tf.tensor>).dataSync());
  model.dispose();
  return out;
}

test('the loader imports only its own files (and tfjs-core types)', async () => {
  const files = (await readdir(LOADER_DIR)).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    const text = await readFile(path.join(LOADER_DIR, file), 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
      const isType = m[2] !== undefined;
      const spec = m[3]!;
      if (isType) {
        expect(spec.startsWith('./') || spec === '@tensorflow/tfjs-core').toBe(true);
      } else {
        expect(spec).toMatch(/^\.\/[a-z-]+\.js$/);
      }
    }
    expect(text).not.toMatch(/from\s+'node:/);
    expect(text).not.toMatch(/import\(/);
  }
});

test('loads from a Uint8Array, an ArrayBuffer and a function: same predictions', async () => {
  expect(await predictWith(packedIOHandler(packed))).toEqual(expected);
  expect(await predictWith(packedIOHandler(packed.slice().buffer))).toEqual(expected);
  expect(await predictWith(packedIOHandler(async () => packed.slice().buffer))).toEqual(expected);
});

test('loads from a URL through fetch', async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/model.mpk') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from(packed));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    expect(await predictWith(packedIOHandler(`http://127.0.0.1:${port}/model.mpk`))).toEqual(expected);
    await expect(packedIOHandler(`http://127.0.0.1:${port}/missing.mpk`).load!()).rejects.toThrow(/404/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('malformed input: bad magic, truncation, trailing bytes', () => {
  expect(() => unpack(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(PackedFormatError);
  for (const cut of [3, 10, Math.floor(packed.byteLength / 2), packed.byteLength - 1]) {
    expect(() => unpack(packed.subarray(0, cut))).toThrow(PackedFormatError);
  }
  const longer = new Uint8Array(packed.byteLength + 1);
  longer.set(packed);
  expect(() => unpack(longer)).toThrow(/trailing/);
});

test('float16 decoding matches tfjs-core bit for bit on all 65536 patterns', async () => {
  const { float16ToFloat32Bits } = await import('../../src/loader/format.js');
  const codes = new Uint16Array(65536).map((_, i) => i);
  const decoded = tf.io.decodeWeights(codes.slice().buffer, [{ name: 'h', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } }]);
  const theirs = new Uint32Array((decoded['h']!.dataSync() as Float32Array).slice().buffer);
  decoded['h']!.dispose();
  let mismatches = 0;
  for (let h = 0; h < 65536; h++) if (float16ToFloat32Bits(h) !== theirs[h]) mismatches++;
  expect(mismatches).toBe(0);
});
