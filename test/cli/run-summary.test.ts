/**
 * The run summary (issue 16): one line per candidate with accuracy in
 * hundredths, the size the budget constrains, p95 latency and the verdict per
 * device, read through the evaluation contract; then what select chose and
 * where export wrote it; then the final artifacts.
 */
import { join } from 'node:path';
import { judgeDevice, summarizeBudgets } from '../../src/contracts/budget.js';
import type { Budget, DeviceVerdict } from '../../src/contracts/budget.js';
import { encodeEvaluation, measured } from '../../src/contracts/evaluation.js';
import type { EvaluatedCandidate, Evaluation } from '../../src/contracts/evaluation.js';
import { budgetedSizeKind, deviceVerdictWords, runSummaryLines } from '../../src/cli/run-summary.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';

function candidate(node: string, accuracy: number, rawKb: number, p95: number | null, budget: Budget, reference = false): EvaluatedCandidate {
  const base = {
    node, stage: node.replace(/\[.*$/, ''), matrix: {}, reference, judged: !reference, accuracy, accuracyDropPp: 98.4 - accuracy,
    sizeBytes: { raw: rawKb * 1024, gzip: rawKb * 512, brotli: rawKb * 400, packed: rawKb * 256 },
    params: 1000, nonZeros: 100, sparsity: 0.9, macs: 1000, effectiveMacs: 100, macsComplete: true,
    latency: {
      phone: p95 === null
        ? ({ measured: false, note: 'not measured' } as const)
        : { measured: true as const, runtime: 'wasm', backendActual: 'wasm', threadsRequested: 1, threadsActual: 1, batch: 1, p50Ms: p95 / 2, p95Ms: p95, runs: 30, spread: 1, stable: true, stopReason: 'maxRuns', p50IntervalMs: null, p95IntervalMs: null, notes: [] },
    },
  };
  return { ...base, devices: { phone: judgeDevice(budget, measured(base, 'phone')) } };
}

function evaluation(budget: Budget): Evaluation {
  const candidates = [candidate('model', 98.4, 1040, 2.5, budget, true), candidate('quantize', 98.32, 260, 2.4, budget), candidate('prune', 97.1, 120, 1.1, budget)];
  return {
    data: 'test', examples: 10000, labelled: true, reference: 'model', referenceAccuracy: 98.4,
    devices: { phone: { runtime: 'wasm', threads: 1, batch: 1, budget } },
    candidates,
    budgets: summarizeBudgets(candidates.filter((c) => c.judged).map((c) => ({ node: c.node, accuracy: c.accuracy, rawBytes: c.sizeBytes.raw, devices: c.devices }))),
  };
}

describe('budgetedSizeKind', () => {
  it.each<[Budget, string]>([
    [{ size_kb: 300 }, 'raw'],
    [{ size_packed_kb: 100, latency_ms_p95: 3 }, 'packed'],
    [{ size_gzip_kb: 100 }, 'gzip'],
    [{ latency_ms_p95: 3 }, 'raw'],
  ])('%j -> %s', (budget, kind) => {
    expect(budgetedSizeKind({ devices: { phone: { runtime: 'wasm', threads: 1, batch: 1, budget } } })).toBe(kind);
  });
});

describe('deviceVerdictWords', () => {
  const ok = judgeDevice({ size_kb: 300 }, { values: { size_kb: 260, size_gzip_kb: null, size_brotli_kb: null, size_packed_kb: null, size_tflite_kb: null, size_tflite_gzip_kb: null, latency_ms_p50: null, latency_ms_p95: null, accuracy_min: null, accuracy_drop_pp: null, agreement_min: null }, notes: {} });
  const missed = judgeDevice({ size_kb: 200 }, { values: { size_kb: 260, size_gzip_kb: null, size_brotli_kb: null, size_packed_kb: null, size_tflite_kb: null, size_tflite_gzip_kb: null, latency_ms_p50: null, latency_ms_p95: null, accuracy_min: null, accuracy_drop_pp: null, agreement_min: null }, notes: {} });
  it.each<[string, DeviceVerdict | undefined, string]>([
    ['no verdict', undefined, 'phone no budget'],
    ['met', ok, 'phone ok'],
    ['missed', missed, 'phone MISSED size_kb +60 KB over'],
  ])('%s', (_name, v, expected) => {
    expect(deviceVerdictWords('phone', v)).toBe(expected);
  });
});

describe('runSummaryLines', () => {
  const budget: Budget = { size_kb: 300, latency_ms_p95: 5, accuracy_drop_pp: 0.5 };

  it('tells the story: candidates, the selected model, the export', () => {
    const record = fakeRunRecord('quickstart', [
      fakeNode('model', 'model', {}),
      fakeNode('eval', 'evaluate', encodeEvaluation(evaluation(budget))),
      fakeNode('pick', 'select', { chosen: 'quantize', objective: 'size_kb', candidates: { quantize: { rank: 0 } }, budgets: { met: true, message: 'ok' } }),
      fakeNode('export', 'export', { source: 'pick', format: 'tfjs', to: 'out/model' }),
    ]);
    record.recipe.file = '/proj/examples/quickstart.yaml';
    record.artifacts = { pick: { model: 'artifacts/pick/model' }, export: { model: 'artifacts/export/model' } };
    expect(runSummaryLines(record, { runDir: '/proj/runs/q/1' })).toEqual([
      'eval: 3 candidates on `test` (10000 examples; reference model 98.40%)',
      '  model (reference)  accuracy 98.40%             size 1040 KB  p95 2.5 ms  phone MISSED size_kb +740 KB over',
      '  quantize           accuracy 98.32% (-0.08 pp)  size 260 KB   p95 2.4 ms  phone ok',
      '  prune              accuracy 97.10% (-1.30 pp)  size 120 KB   p95 1.1 ms  phone MISSED accuracy_drop_pp +0.80 pp over',
      'selected: quantize (best size_kb within the budgets) -> /proj/runs/q/1/artifacts/pick/model',
      'exported: pick (format tfjs) -> /proj/examples/out/model',
    ]);
  });

  it('names the preprocessing files an export shipped, and their dataset', () => {
    const record = fakeRunRecord('r', [fakeNode('export', 'export', { source: 'quantize', format: 'both', preprocessing: { data: 'train', files: ['vocabulary.txt', 'preprocessing.json'] } })]);
    record.artifacts = { export: { model: 'artifacts/export/model' } };
    expect(runSummaryLines(record, { runDir: '/r' })).toEqual(['exported: quantize (format both, with vocabulary.txt, preprocessing.json of `train`) -> /r/artifacts/export/model']);
  });

  it('says when select took the closest because none met the budgets', () => {
    const record = fakeRunRecord('r', [fakeNode('pick', 'select', { chosen: 'prune', objective: 'size', budgets: { met: false, message: 'missed' } })]);
    expect(runSummaryLines(record, { runDir: '/r' })).toEqual(['selected: prune (the closest to the budgets: none meets them)']);
  });

  it('names the budgeted size and shows paths as asked', () => {
    const record = fakeRunRecord('r', [fakeNode('eval', 'evaluate', encodeEvaluation(evaluation({ size_packed_kb: 100 })))]);
    record.artifacts = { eval: { report: 'artifacts/eval/report' } };
    const lines = runSummaryLines(record, { runDir: '/runs/1', showPath: (p) => p.replace('/runs/1/', '') });
    expect(lines[2]).toBe('  quantize           accuracy 98.32% (-0.08 pp)  packed size 65 KB   p95 2.4 ms  phone ok');
    expect(lines.at(-1)).toBe('output: eval -> artifacts/eval/report');
  });

  it('says so when an evaluate node\'s metrics do not decode, and skips failed nodes', () => {
    const bad = encodeEvaluation(evaluation(budget));
    (bad['candidates'] as Record<string, Record<string, unknown>>)['quantize']!['accuracy'] = 'high';
    const record = fakeRunRecord('r', [
      fakeNode('eval', 'evaluate', bad),
      fakeNode('eval2', 'evaluate', encodeEvaluation(evaluation(budget)), { status: 'failed' }),
    ]);
    const lines = runSummaryLines(record, { runDir: join('/', 'x') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^eval: not summarized: metrics of eval\.candidates\.quantize\.accuracy: Expected /);
  });

  it('is empty for a run without evaluations or artifacts', () => {
    expect(runSummaryLines(fakeRunRecord('r', [fakeNode('train', 'train', { accuracy: 97 })]), { runDir: '/r' })).toEqual([]);
  });
});
