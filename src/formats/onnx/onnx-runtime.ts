/**
 * ONNX Runtime as the independent reference: onnxruntime-web, because it
 * ships its wasm inside the npm package and runs in Node offline, where
 * onnxruntime-node's install downloads native binaries (and fails without a
 * network). One thread: the 2-core machines this runs on share cores with
 * the tfjs side of a comparison.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface NamedTensor {
  dims: number[];
  data: Float32Array;
}

type Ort = typeof import('onnxruntime-web');
let ort: Promise<Ort> | undefined;

async function loadOrt(): Promise<Ort> {
  ort ??= (async () => {
    const m = await import('onnxruntime-web');
    m.env.wasm.numThreads = 1;
    m.env.logLevel = 'error';
    // Point at the package's own dist/: the wasm files live beside ort.mjs.
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-web');
    m.env.wasm.wasmPaths = `${join(dirname(pkg), '/')}`;
    return m;
  })();
  return ort;
}

/** Runs an .onnx model (its bytes) on float32 feeds; returns every graph output. */
export async function runOnnxRuntime(bytes: Uint8Array, feeds: Record<string, NamedTensor>): Promise<Record<string, NamedTensor>> {
  const m = await loadOrt();
  const session = await m.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const inputs: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new m.Tensor('float32', t.data, t.dims);
    const out = await session.run(inputs);
    const res: Record<string, NamedTensor> = {};
    for (const name of session.outputNames) {
      const t = out[name]!;
      res[name] = { dims: [...t.dims], data: Float32Array.from(t.data as Float32Array) };
    }
    return res;
  } finally {
    await session.release();
  }
}
