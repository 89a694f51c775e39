// Why is p95 ~10x p50 on a sub-millisecond model? A small, fast
// investigation (a few seconds) behind docs/measure latency notes:
//   npm run build && node --expose-gc bench/latency-tail.mjs [units]
// Times a 784-<units>-10 MLP (default 32) on wasm, one thread, batch 1, in
// this process, four ways, and prints p50/p95/p99/max per inference plus
// how many samples had a GC pause inside them or lost the CPU to another
// process (wall time > this process's CPU time + 0.2 ms; process.cpuUsage
// counts all threads, and wasm inference here runs on one).
import { PerformanceObserver } from 'node:perf_hooks';
import { loadTf } from '../dist/engine/tf.js';
import { buildModel } from '../dist/engine/builders.js';
import { sortedCopy, percentile } from '../dist/measure/sample-stats.js';

const units = Number(process.argv[2] ?? 32);
const tf = await loadTf('wasm');
const model = buildModel(tf, { arch: 'mlp', units: [units], inputShape: [784], classes: 10 }, 1);
const x = tf.randomUniform([1, 784], 0, 1, 'float32', 3);

// Timer resolution: the smallest non-zero step of performance.now().
let res = Infinity;
for (let i = 0; i < 200000; i++) {
  const a = performance.now();
  let b = performance.now();
  while (b === a) b = performance.now();
  res = Math.min(res, b - a);
}

const gcs = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]); }).observe({ entryTypes: ['gc'] });
const hadGc = (t0, t1) => gcs.some(([a, b]) => a < t1 && b > t0);

async function timed(label, n, k, read, forceGc) {
  for (let i = 0; i < 50; i++) { const o = model.predict(x); o.dataSync(); o.dispose(); }
  const per = [];
  const spans = [];
  let preempted = 0;
  for (let i = 0; i < n; i++) {
    if (forceGc && globalThis.gc) globalThis.gc();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const outs = [];
    for (let j = 0; j < k; j++) {
      const o = model.predict(x);
      if (read === 'dataSync') o.dataSync(); else await o.data();
      outs.push(o);
    }
    const t1 = performance.now();
    const c = process.cpuUsage(c0);
    // Wall time well above this thread's CPU time: the OS ran something else meanwhile.
    if (t1 - t0 - (c.user + c.system) / 1000 > 0.2) preempted++;
    for (const o of outs) o.dispose();
    per.push((t1 - t0) / k);
    spans.push([t0, t1]);
  }
  await new Promise((r) => setTimeout(r, 50)); // let the gc observer deliver
  const s = sortedCopy(per);
  const withGc = spans.filter(([a, b]) => hadGc(a, b)).length;
  const clean = sortedCopy(per.filter((_, i) => !hadGc(...spans[i])));
  const f = (v) => v.toFixed(3);
  console.log(`${label.padEnd(34)} n=${String(n).padStart(4)} p50 ${f(percentile(s, 50))} p95 ${f(percentile(s, 95))} p99 ${f(percentile(s, 99))} max ${f(s[s.length - 1])} ms; p95/p50 ${(percentile(s, 95) / percentile(s, 50)).toFixed(2)}; samples with GC ${withGc}, descheduled >0.2 ms ${preempted}; p95 without GC ${clean.length ? f(percentile(clean, 95)) : '-'}`);
}

console.log(`node ${process.version}, tfjs ${tf.version_core}, backend ${tf.getBackend()}, mlp 784-${units}-10, timer resolution ${(res * 1e6).toFixed(0)} ns, load average ${(await import('node:os')).loadavg()[0].toFixed(2)} on ${(await import('node:os')).availableParallelism()} cores, gc() ${globalThis.gc ? 'exposed' : 'not exposed'}`);
await timed('1 inference/sample, dataSync', 2000, 1, 'dataSync', false);
await timed('1 inference/sample, await data()', 2000, 1, 'data', false);
await timed('10 inferences/sample, dataSync', 200, 10, 'dataSync', false);
await timed('1 inference/sample, gc() before each', 500, 1, 'dataSync', true);
await timed('10 inferences/sample, gc() before each', 200, 10, 'dataSync', true);
