/**
 * The measurement page: its HTML and the one script of our own it runs,
 * kept as string constants so `npm run build` (tsc alone) ships them and no
 * file has to be copied next to dist/. The page loads stock tfjs
 * (tf.min.js + tf-backend-wasm.min.js, both from our 127.0.0.1 server) and
 * the modelpress/loader bundle (dist/browser/modelpress-loader.js, global
 * `modelpressLoader`), then defines `window.__modelpress` (page-protocol.ts
 * PageApi), which the Node side calls through page.evaluate.
 *
 * One timed run is exactly what the Node latency child times: predict, then
 * dataSync() of every output (the read-back is part of inference: without it
 * webgl would only be timed while queueing work), disposal after the clock
 * stops. The script is plain ES2017, no imports, no network of its own.
 */
import { PAGE_GLOBAL } from './page-protocol.js';

/** Paths the page's HTML refers to (the session registers them on the static server). */
export const PAGE_PATHS = {
  html: '/',
  tf: '/tfjs/tf.min.js',
  tfWasm: '/tfjs/tf-backend-wasm.min.js',
  wasmBase: '/tfjs/',
  loader: '/modelpress-loader.js',
  script: '/page.js',
} as const;

export const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>modelpress measurement page</title>
<link rel="icon" href="data:,">
<script src="${PAGE_PATHS.tf}"></script>
<script src="${PAGE_PATHS.tfWasm}"></script>
<script src="${PAGE_PATHS.loader}"></script>
<script src="${PAGE_PATHS.script}"></script>
</head><body>modelpress</body></html>
`;

export const PAGE_SCRIPT = `(function () {
  'use strict';
  var models = new Map();
  var inputs = new Map();

  function message(e) { return e && e.message ? e.message : String(e); }
  function model(id) {
    var m = models.get(id);
    if (!m) throw new Error('no model ' + JSON.stringify(id) + ' is loaded in the page');
    return m;
  }
  function toTensors(list) {
    return list.map(function (t) { return tf.tensor(t.values, t.shape, t.dtype); });
  }
  function feed(ts) { return ts.length === 1 ? ts[0] : ts; }
  function outputsOf(out) { return Array.isArray(out) ? out : [out]; }

  async function setup(opts) {
    if (typeof tf === 'undefined') throw new Error('tf.min.js did not load');
    if (opts.backend === 'wasm') {
      if (!tf.wasm) throw new Error('tf-backend-wasm.min.js did not load');
      tf.wasm.setWasmPaths(opts.wasmBase);
      // Before setBackend: the XNNPACK thread pool is sized when the backend starts.
      if (typeof tf.wasm.setThreadsCount === 'function') tf.wasm.setThreadsCount(opts.threads);
    }
    var ok = false;
    var why = '';
    try { ok = await tf.setBackend(opts.backend); } catch (e) { why = message(e); }
    if (!ok || tf.getBackend() !== opts.backend) {
      throw new Error('tfjs backend ' + opts.backend + ' is not available in this browser' + (why ? ' (' + why + ')' : ''));
    }
    await tf.ready();
    var threadsActual = null;
    if (opts.backend === 'wasm') threadsActual = tf.wasm.getThreadsCount();
    else if (opts.backend === 'cpu') threadsActual = 1;
    var renderer = null;
    if (opts.backend === 'webgl') {
      try {
        var gl = tf.backend().gpgpu.gl;
        var ext = gl.getExtension('WEBGL_debug_renderer_info');
        renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      } catch (e) { renderer = 'unknown (' + message(e) + ')'; }
    }
    return {
      backendActual: tf.getBackend(),
      threadsActual: threadsActual,
      crossOriginIsolated: self.crossOriginIsolated === true,
      hardwareConcurrency: typeof navigator.hardwareConcurrency === 'number' ? navigator.hardwareConcurrency : null,
      tfjsVersion: tf.version.tfjs,
      userAgent: navigator.userAgent,
      renderer: renderer
    };
  }

  async function load(id, spec) {
    var t0 = performance.now();
    var source = spec.kind === 'packed' ? modelpressLoader.packedIOHandler(spec.url) : spec.url;
    var m = await tf.loadLayersModel(source);
    var loadMs = performance.now() - t0;
    var old = models.get(id);
    if (old) old.dispose();
    models.set(id, m);
    return {
      loadMs: loadMs,
      inputs: m.inputs.map(function (i) { return { name: i.name, shape: i.shape, dtype: i.dtype }; })
    };
  }

  function setInputs(id, list) {
    var old = inputs.get(id);
    if (old) tf.dispose(old);
    inputs.set(id, toTensors(list));
  }

  function time(id, count, budgetMs) {
    var m = model(id);
    var ts = inputs.get(id);
    if (!ts) throw new Error('no inputs set for model ' + JSON.stringify(id));
    var x = feed(ts);
    var times = [];
    var start = performance.now();
    for (var i = 0; i < count; i++) {
      var t0 = performance.now();
      var outs = outputsOf(m.predict(x));
      for (var k = 0; k < outs.length; k++) outs[k].dataSync();
      var t1 = performance.now();
      tf.dispose(outs);
      times.push(t1 - t0);
      if (t1 - start >= budgetMs) break;
    }
    return times;
  }

  function predict(id, list) {
    var m = model(id);
    var ts = toTensors(list);
    try {
      return outputsOf(m.predict(feed(ts))).map(function (o) {
        var r = { shape: o.shape.slice(), dtype: o.dtype, values: Array.from(o.dataSync()) };
        o.dispose();
        return r;
      });
    } finally {
      tf.dispose(ts);
    }
  }

  function dispose(id) {
    var m = models.get(id);
    if (m) m.dispose();
    models.delete(id);
    var ts = inputs.get(id);
    if (ts) tf.dispose(ts);
    inputs.delete(id);
  }

  self.${PAGE_GLOBAL} = { setup: setup, load: load, setInputs: setInputs, time: time, predict: predict, dispose: dispose };
})();
`;
