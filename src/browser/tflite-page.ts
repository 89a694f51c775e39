/**
 * The TFLite interpreter page: TensorFlow Lite compiled to WebAssembly
 * (@tensorflow/tfjs-tflite's tflite_web_api_client.js and its wasm
 * binaries, the real interpreter with its XNNPACK delegate), driven without
 * tfjs: the page creates a `TFLiteWebModelRunner` per model, copies inputs
 * into the interpreter's input buffers, calls infer() and reads the output
 * buffers. Kept as string constants so `npm run build` ships them.
 *
 * Inputs travel as one binary route per dataset (fetched by the page), so a
 * whole evaluation set crosses into the page once instead of as JSON.
 */

export const TFLITE_PAGE_GLOBAL = '__modelpressTflite';

/** Paths the page refers to (TfliteSession registers them on the static server). */
export const TFLITE_PAGE_PATHS = {
  html: '/',
  client: '/tflite/tflite_web_api_client.js',
  wasmBase: '/tflite/',
  script: '/tflite-page.js',
} as const;

/** What one loaded model's input and output look like to the interpreter. */
export interface TfliteTensorInfo {
  name: string;
  /** int8, uint8, int32, float32, ... as the interpreter reports it. */
  dataType: string;
  shape: number[];
}

export interface TflitePageApi {
  setup(opts: { wasmBase: string; threads: number }): Promise<{ features: unknown }>;
  load(id: string, url: string): Promise<{ inputs: TfliteTensorInfo[]; outputs: TfliteTensorInfo[] }>;
  /** Runs `count` examples read from `url` (raw little-endian values of the input's dtype, examples back to back); the first output of each, concatenated. */
  run(id: string, url: string, count: number): Promise<number[]>;
  /** `warmup` untimed then `runs` timed inferences on the first example of `url`; milliseconds per run. */
  time(id: string, url: string, warmup: number, runs: number): Promise<number[]>;
  unload(id: string): void;
}

export const TFLITE_PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>modelpress TFLite page</title>
<link rel="icon" href="data:,">
<script src="${TFLITE_PAGE_PATHS.client}"></script>
<script src="${TFLITE_PAGE_PATHS.script}"></script>
</head><body>modelpress tflite</body></html>
`;

export const TFLITE_PAGE_SCRIPT = `(function () {
  'use strict';
  var runners = new Map();
  var threads = 1;
  var ARRAYS = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array };
  function runner(id) {
    var r = runners.get(id);
    if (!r) throw new Error('no TFLite model ' + JSON.stringify(id) + ' is loaded in the page');
    return r;
  }
  function info(t) { return { name: t.name, dataType: t.dataType, shape: Array.from(t.shape) }; }
  async function examples(url, dataType) {
    var res = await fetch(url);
    if (!res.ok) throw new Error('cannot fetch ' + url + ' (HTTP ' + res.status + ')');
    var A = ARRAYS[dataType];
    if (!A) throw new Error('input type ' + dataType + ' is not supported by the page');
    return new A(await res.arrayBuffer());
  }
  async function setup(opts) {
    if (typeof tfweb === 'undefined') throw new Error('tflite_web_api_client.js did not load');
    tfweb.tflite_web_api.setWasmPath(opts.wasmBase);
    threads = opts.threads;
    var features = await tfweb.tflite_web_api.getWasmFeatures();
    return { features: features };
  }
  async function load(id, url) {
    var res = await fetch(url);
    if (!res.ok) throw new Error('cannot fetch ' + url + ' (HTTP ' + res.status + ')');
    var r = await tfweb.TFLiteWebModelRunner.create(await res.arrayBuffer(), { numThreads: threads, enableProfiling: false });
    runners.set(id, r);
    return { inputs: r.getInputs().map(info), outputs: r.getOutputs().map(info) };
  }
  async function run(id, url, count) {
    var r = runner(id);
    var input = r.getInputs()[0];
    var xs = await examples(url, input.dataType);
    var per = xs.length / count;
    var result = [];
    for (var i = 0; i < count; i++) {
      input.data().set(xs.subarray(i * per, (i + 1) * per));
      if (!r.infer()) throw new Error('infer() failed on example ' + i);
      var out = r.getOutputs()[0].data();
      for (var j = 0; j < out.length; j++) result.push(out[j]);
    }
    return result;
  }
  async function time(id, url, warmup, runs) {
    var r = runner(id);
    var input = r.getInputs()[0];
    var xs = await examples(url, input.dataType);
    var per = input.data().length;
    var ms = [];
    for (var i = 0; i < warmup + runs; i++) {
      var t0 = performance.now();
      input.data().set(xs.subarray(0, per));
      r.infer();
      var out = r.getOutputs()[0].data();
      var keep = out[0];
      var t1 = performance.now();
      if (i >= warmup) ms.push(t1 - t0);
      if (keep !== keep) throw new Error('NaN output');
    }
    return ms;
  }
  function unload(id) {
    var r = runners.get(id);
    if (r) { r.cleanUp(); runners.delete(id); }
  }
  window.${TFLITE_PAGE_GLOBAL} = { setup: setup, load: load, run: run, time: time, unload: unload };
})();
`;
