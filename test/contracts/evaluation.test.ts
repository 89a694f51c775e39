/**
 * The evaluation contract: encode -> decode gives the same value, decoding
 * names the first bad field exactly, measured() is what the budgets judge
 * (with latency intervals, so select re-judges `unstable` the same way), and
 * the encoders keep report.json's key order.
 */
import { judgeDevice, summarizeBudgets } from '../../src/contracts/budget.js';
import type { Budget } from '../../src/contracts/budget.js';
import { decodeEvaluation, decodeReportLayers, encodeEvaluation, encodeEvaluationReport, judgedCandidate, judgedCandidates, measured, quality } from '../../src/contracts/evaluation.js';
import type { EvaluatedCandidate, Evaluation } from '../../src/contracts/evaluation.js';
import type { Json } from '../../src/plugin.js';

const budget: Budget = { size_kb: 40, latency_ms_p95: 2, accuracy_drop_pp: 0.5 };

function candidate(node: string, accuracy: number, rawKb: number, p95: number | null, interval: [number, number] | null = null): EvaluatedCandidate {
  const base = {
    node,
    stage: node.replace(/\[.*$/, ''),
    matrix: (node.includes('[') ? { sparsity: 0.9 } : {}) as Record<string, number>,
    reference: node === 'train',
    judged: node !== 'train',
    accuracy,
    accuracyDropPp: 98 - accuracy,
    sizeBytes: { raw: rawKb * 1024, gzip: rawKb * 512, brotli: rawKb * 400, packed: rawKb * 300 },
    params: 1000,
    nonZeros: 100,
    sparsity: 0.9,
    macs: 1000,
    effectiveMacs: 100,
    macsComplete: true,
    latency: {
      phone:
        p95 === null
          ? ({ measured: false, note: 'not measured (latency.measure: never)' } as const)
          : {
              measured: true as const,
              runtime: 'wasm',
              backendActual: 'wasm',
              threadsRequested: 1,
              threadsActual: 1,
              batch: 1,
              p50Ms: p95 / 2,
              p95Ms: p95,
              runs: 30,
              spread: 2,
              stable: interval === null,
              stopReason: 'maxRuns',
              p50IntervalMs: null,
              p95IntervalMs: interval,
              pid: 42,
              notes: [],
            },
    },
  };
  return { ...base, devices: { phone: judgeDevice(budget, measured(base, 'phone')) } };
}

function evaluation(): Evaluation {
  const candidates = [candidate('train', 98, 50, null), candidate('prune[sparsity=0.9]', 97.8, 30, 1.9, [1.7, 2.3]), candidate('small', 97.9, 20, 1)];
  return {
    data: 'test',
    examples: 10000,
    labelled: true,
    reference: 'train',
    referenceAccuracy: 98,
    devices: { phone: { runtime: 'wasm', threads: 1, batch: 1, budget } },
    candidates,
    budgets: summarizeBudgets(candidates.filter((c) => c.judged).map((c) => ({ node: c.node, accuracy: c.accuracy, rawBytes: c.sizeBytes.raw, devices: c.devices }))),
  };
}

describe('evaluation contract', () => {
  test('encode then decode is the identity, through JSON text', () => {
    const e = evaluation();
    const json = JSON.parse(JSON.stringify(encodeEvaluation(e))) as Json;
    expect(decodeEvaluation(json)).toEqual({ ok: true, value: e });
  });

  test('metrics key order: the order report.json and run.json have always had', () => {
    const m = encodeEvaluation(evaluation());
    expect(Object.keys(m)).toEqual(['data', 'examples', 'labelled', 'reference', 'referenceAccuracy', 'devices', 'candidates', 'budgets']);
    const c = (m.candidates as Record<string, Record<string, Json>>)['small']!;
    expect(Object.keys(c)).toEqual([
      'stage', 'matrix', 'reference', 'judged', 'accuracy', 'accuracyDropPp', 'sizeBytes', 'sizeKb', 'params', 'nonZeros',
      'sparsity', 'macs', 'effectiveMacs', 'macsComplete', 'latency', 'devices',
    ]);
    const r = encodeEvaluationReport({ evaluation: evaluation(), dataFingerprint: 'sha256:x', detail: {} });
    expect(Object.keys(r)).toEqual(['stage', 'data', 'dataFingerprint', 'examples', 'labelled', 'reference', 'referenceAccuracy', 'devices', 'candidates', 'budgets']);
  });

  test('the interval makes a straddled latency limit unstable, and the summary counts it as not met', () => {
    const e = evaluation();
    const pruned = e.candidates[1]!;
    expect(measured(pruned, 'phone').intervals).toEqual({ latency_ms_p95: [1.7, 2.3] });
    expect(pruned.devices.phone).toMatchObject({ ok: false, missed: ['latency_ms_p95'], unstable: ['latency_ms_p95'] });
    expect(e.budgets).toMatchObject({ met: true, best: 'small', passing: ['small'] });
    expect(judgedCandidates(e).map((c) => c.node)).toEqual(['prune[sparsity=0.9]', 'small']);
  });

  test('measured(): a latency not measured is null with its note', () => {
    const m = measured(candidate('train', 98, 50, null), 'phone');
    expect(m.values).toMatchObject({ size_kb: 50, latency_ms_p95: null, accuracy_drop_pp: 0 });
    expect(m.notes).toEqual({
      agreement_min: 'agreement not measured',
      latency_ms_p50: 'not measured (latency.measure: never)',
      latency_ms_p95: 'not measured (latency.measure: never)',
      // No .tflite file was made for this candidate (no tflite device or budget).
      size_tflite_kb: 'not measured: no .tflite file',
      size_tflite_gzip_kb: 'not measured: no .tflite file',
    });
    expect(m.values).toMatchObject({ size_tflite_kb: null, size_tflite_gzip_kb: null });
    expect(measured({ ...candidate('train', 98, 50, null), sizeBytes: { raw: 1, gzip: 1, brotli: 1, packed: 1, tflite: 2048, tfliteGzip: 1024 } }, 'phone').values).toMatchObject({ size_tflite_kb: 2, size_tflite_gzip_kb: 1 });
    expect(m.intervals).toBeUndefined();
    expect(measured(candidate('train', 98, 50, null), 'laptop').notes.latency_ms_p95).toBe('not measured');
  });

  // [what is broken, mutation of the encoded metrics, the exact error]
  const broken: [string, (m: Record<string, any>) => void, string][] = [
    ['accuracy a string', (m) => (m.candidates.small.accuracy = 'high'), 'metrics of eval.candidates.small.accuracy: Expected a number, got "high"'],
    ['a node id that is not an identifier', (m) => delete m.candidates['prune[sparsity=0.9]'].sizeBytes.packed, 'metrics of eval.candidates["prune[sparsity=0.9]"].sizeBytes.packed: Expected a number, got nothing'],
    ['an unknown budget key', (m) => (m.devices.phone.budget.size_mb = 1), 'metrics of eval.devices.phone.budget.size_mb: Expected a budget key (size_kb, size_gzip_kb, size_brotli_kb, size_packed_kb, size_tflite_kb, size_tflite_gzip_kb, latency_ms_p50, latency_ms_p95, accuracy_min, accuracy_drop_pp, agreement_min), got "size_mb"'],
    ['a verdict with a bad limit', (m) => (m.candidates.small.devices.phone.verdicts[0].limit = 'speed'), 'metrics of eval.candidates.small.devices.phone.verdicts[0].limit: Expected one of size_kb, size_gzip_kb, size_brotli_kb, size_packed_kb, size_tflite_kb, size_tflite_gzip_kb, latency_ms_p50, latency_ms_p95, accuracy_min, accuracy_drop_pp, agreement_min, parity, runs, got "speed"'],
    ['latency measured but no p95', (m) => delete m.candidates.small.latency.phone.p95Ms, 'metrics of eval.candidates.small.latency.phone.p95Ms: Expected a number, got nothing'],
    ['a bad interval', (m) => (m.candidates.small.latency.phone.p95IntervalMs = [1]), 'metrics of eval.candidates.small.latency.phone.p95IntervalMs: Expected null or [low, high] in ms, got [1]'],
    ['budgets.met missing', (m) => delete m.budgets.met, 'metrics of eval.budgets.met: Expected true or false, got nothing'],
  ];
  test.each(broken)('decode names the field: %s', (_, mutate, error) => {
    const m = JSON.parse(JSON.stringify(encodeEvaluation(evaluation())));
    mutate(m);
    expect(decodeEvaluation(m, 'metrics of eval')).toEqual({ ok: false, error });
  });
  test('decode of something that is not an object', () => {
    expect(decodeEvaluation([1, 2], 'metrics of eval')).toEqual({ ok: false, error: 'metrics of eval: Expected an object, got [1,2]' });
  });

  test('metrics written before the intervals were in the contract still decode (no interval, no unstable)', () => {
    const m = JSON.parse(JSON.stringify(encodeEvaluation(evaluation())));
    delete m.candidates.small.latency.phone.p50IntervalMs;
    delete m.candidates.small.latency.phone.p95IntervalMs;
    const d = decodeEvaluation(m);
    expect(d.ok && d.value.candidates[2]!.latency.phone).toMatchObject({ measured: true, p95IntervalMs: null });
  });

  test('without labels: accuracy is absent (not 0), accuracy limits say why, agreement_min is judged and ranks the candidates', () => {
    const unlabelled = (node: string, top1: number, rawKb: number): EvaluatedCandidate => {
      const { accuracy: _a, accuracyDropPp: _d, devices: _v, ...c } = candidate(node, 0, rawKb, 1);
      const base = { ...c, agreement: { top1, k: 5, topKOverlap: 90, meanKl: 0.25, maxAbsDiff: 0.5 } };
      return { ...base, devices: { phone: judgeDevice({ agreement_min: 95, accuracy_min: 90 }, measured(base, 'phone')) } };
    };
    const candidates = [unlabelled('train', 100, 50), unlabelled('a', 96, 30), unlabelled('b', 97, 30), unlabelled('c', 94, 10)];
    const e: Evaluation = {
      data: 'photos',
      examples: 3,
      labelled: false,
      reference: 'train',
      devices: { phone: { runtime: 'wasm', threads: 1, batch: 1, budget: { agreement_min: 95, accuracy_min: 90 } } },
      candidates,
      budgets: summarizeBudgets(candidates.filter((c) => c.judged).map(judgedCandidate)),
    };
    const c = candidates[3]!;
    expect(measured(c, 'phone').values).toMatchObject({ accuracy_min: null, accuracy_drop_pp: null, agreement_min: 94 });
    expect(c.devices.phone).toMatchObject({ ok: false, missed: ['agreement_min'], unmeasured: ['accuracy_min'] });
    expect(c.devices.phone!.verdicts.map((v) => v.margin)).toEqual(['no labels: judged by agreement', '1.00 pp short']);
    expect(e.budgets.message).toBe('2 of 3 candidate(s) meet every budget; best: b (agreement 97.00%)');
    expect(quality(c)).toBe(94);
    const m = encodeEvaluation(e);
    expect(Object.keys(m)).toEqual(['data', 'examples', 'labelled', 'reference', 'devices', 'candidates', 'budgets']);
    expect(Object.keys((m.candidates as Record<string, Record<string, Json>>)['c']!)).toEqual([
      'stage', 'matrix', 'reference', 'judged', 'agreement', 'sizeBytes', 'sizeKb', 'params', 'nonZeros',
      'sparsity', 'macs', 'effectiveMacs', 'macsComplete', 'latency', 'devices',
    ]);
    expect(decodeEvaluation(JSON.parse(JSON.stringify(m)) as Json)).toEqual({ ok: true, value: e });
  });

  test('labelled metrics without an accuracy do not decode', () => {
    const m = JSON.parse(JSON.stringify(encodeEvaluation(evaluation())));
    delete m.candidates.small.accuracy;
    expect(decodeEvaluation(m, 'metrics of eval')).toEqual({ ok: false, error: 'metrics of eval.candidates.small.accuracy: Expected a number (the data is labelled), got nothing' });
  });

  test('report.json layers decode per candidate, null MACs allowed', () => {
    const report = encodeEvaluationReport({
      evaluation: evaluation(),
      dataFingerprint: 'sha256:x',
      detail: { small: { digest: 'sha256:y', size: {}, layers: [{ name: 'dense', className: 'Dense', params: 10, nonZeros: 5, macs: null, effectiveMacs: null }] } },
    });
    expect(decodeReportLayers(JSON.parse(JSON.stringify(report)) as Json)).toEqual({ ok: true, value: { small: [{ name: 'dense', className: 'Dense', params: 10, nonZeros: 5, macs: null, effectiveMacs: null }] } });
    expect(decodeReportLayers({ candidates: [{ node: 'a', layers: [{ name: 1 }] }] }, 'r.json')).toEqual({ ok: false, error: 'r.json.candidates[0].layers[0].name: Expected a string, got 1' });
  });
});
