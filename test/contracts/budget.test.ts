/**
 * Budget verdicts without models: margins, equality, minimum limits, not
 * measured values, unstable latency limits, and the best / closest summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUDGET_KEYS, judgeDevice, straddles, summarizeBudgets, UNITS, verdictFor } from '../../src/contracts/budget.js';
import type { BudgetKey, Measured } from '../../src/contracts/budget.js';
import type { BudgetSpec } from '../../src/recipe/types.js';
import { describeVerdict } from '../../src/contracts/evaluation-markdown.js';
import { fmt } from '../../src/contracts/format.js';

const measured = (values: Partial<Measured['values']>, notes: Measured['notes'] = {}): Measured => ({
  values: {
    size_kb: null,
    size_gzip_kb: null,
    size_brotli_kb: null,
    size_packed_kb: null,
    size_tflite_kb: null,
    size_tflite_gzip_kb: null,
    latency_ms_p50: null,
    latency_ms_p95: null,
    accuracy_min: null,
    accuracy_drop_pp: null,
    agreement_min: null,
    ...values,
  },
  notes,
});

describe('evaluate verdicts', () => {
  test('fmt keeps 3 significant digits without trailing zeros', () => {
    expect(fmt(31)).toBe('31');
    expect(fmt(31.04)).toBe('31');
    expect(fmt(3.2)).toBe('3.2');
    expect(fmt(0.91234)).toBe('0.912');
    expect(fmt(0.0512)).toBe('0.0512');
    expect(fmt(12345.6)).toBe('12346');
    expect(fmt(-0.4)).toBe('-0.4');
    expect(fmt(0)).toBe('0');
  });

  test('maximum limits: over, under, equal is ok', () => {
    expect(verdictFor('size_kb', 40, 43.2)).toEqual({ limit: 'size_kb', max: 40, measured: 43.2, unit: 'KB', ok: false, excess: expect.closeTo(3.2, 9), margin: '+3.2 KB over' });
    expect(verdictFor('latency_ms_p95', 2, 1.6)).toMatchObject({ ok: true, margin: '0.4 ms under' });
    expect(verdictFor('size_gzip_kb', 10, 10)).toMatchObject({ ok: true, excess: 0, margin: '0 KB under' });
    expect(verdictFor('accuracy_drop_pp', 0.5, 0.75)).toMatchObject({ ok: false, unit: 'pp', margin: '+0.25 pp over' });
    // Accuracy limits in hundredths: a 0.01 pp difference (one example in 10,000) shows.
    expect(verdictFor('accuracy_drop_pp', 0.5, 0.49)).toMatchObject({ ok: true, margin: '0.01 pp under' });
  });

  test('accuracy_min is a minimum', () => {
    expect(verdictFor('accuracy_min', 97, 95.5)).toMatchObject({ min: 97, ok: false, excess: 1.5, margin: '1.50 pp short' });
    expect(verdictFor('accuracy_min', 97, 98.25)).toMatchObject({ ok: true, margin: '1.25 pp to spare' });
  });

  test('not measured is null, neither ok nor missed, and the device still passes', () => {
    const d = judgeDevice(
      { size_kb: 40, size_packed_kb: 10, latency_ms_p95: 2 },
      measured({ size_kb: 12 }, { size_packed_kb: 'not measured yet', latency_ms_p95: 'not measured (browser)' }),
    );
    expect(d.verdicts.map((v) => [v.limit, v.ok, v.measured])).toEqual([
      ['size_kb', true, 12],
      ['size_packed_kb', null, null],
      ['latency_ms_p95', null, null],
    ]);
    expect(d.verdicts[1]!.margin).toBe('not measured yet');
    expect(d).toMatchObject({ ok: true, missed: [], unmeasured: ['size_packed_kb', 'latency_ms_p95'] });
  });

  test('summary: best is the most accurate passing candidate; closest has the fewest, then smallest misses', () => {
    const dev = (size: number, acc: number) => ({ phone: judgeDevice({ size_kb: 40, accuracy_min: 90 }, measured({ size_kb: size, accuracy_min: acc })) });
    const met = summarizeBudgets([
      { node: 'a', accuracy: 95, rawBytes: 30, devices: dev(30, 95) },
      { node: 'b', accuracy: 97, rawBytes: 39, devices: dev(39, 97) },
      { node: 'c', accuracy: 99, rawBytes: 50, devices: dev(50, 99) },
    ]);
    expect(met).toMatchObject({ met: true, best: 'b', passing: ['a', 'b'], closest: null });

    const missed = summarizeBudgets([
      { node: 'two-misses', accuracy: 80, rawBytes: 41, devices: dev(41, 80) },
      { node: 'far', accuracy: 95, rawBytes: 60, devices: dev(60, 95) },
      { node: 'near', accuracy: 95, rawBytes: 44, devices: dev(44, 95) },
    ]);
    expect(missed.met).toBe(false);
    expect(missed.best).toBeNull();
    expect(missed.closest).toEqual({ candidate: 'near', missed: [{ device: 'phone', limit: 'size_kb', measured: 44, budget: 40, unit: 'KB', margin: '+4 KB over' }] });
    expect(missed.message).toBe('no candidate meets every budget; closest: near, missed phone size_kb (44 KB vs 40 KB: +4 KB over)');
    expect(met.message).toBe('2 of 3 candidate(s) meet every budget; best: b (accuracy 97.00%)');
  });

  test('words of a verdict', () => {
    const c = { accuracy: 98.3, accuracyDropPp: 0.1 };
    expect(describeVerdict(verdictFor('size_kb', 40, 31), c)).toBe('size 31 KB <= 40 KB ok');
    expect(describeVerdict(verdictFor('latency_ms_p95', 2, 0.9), c)).toBe('p95 latency 0.9 ms <= 2 ms ok');
    expect(describeVerdict(verdictFor('accuracy_drop_pp', 0.5, 0.1), c)).toBe('accuracy 98.30% (-0.10 pp, max drop 0.50 pp) ok');
    expect(describeVerdict(verdictFor('accuracy_min', 99, 98.3), c)).toBe('accuracy 98.30% >= 99.00% missed (0.70 pp short)');
    expect(describeVerdict(verdictFor('latency_ms_p95', 2, 1.9, undefined, [1.7, 2.3]), c)).toBe(
      'p95 latency 1.9 ms <= 2 ms unstable (95% interval 1.7-2.3 ms contains the limit 2 ms)',
    );
    expect(describeVerdict(verdictFor('size_packed_kb', 8, null, 'not measured yet (the packed format comes with a later issue)'), c)).toBe(
      'packed size not measured yet (the packed format comes with a later issue)',
    );
  });
});

describe('budget keys', () => {
  test('BUDGET_KEYS is what the recipe schema and the recipe types allow, in the same order', () => {
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../../schemas/recipe.schema.json'), 'utf8')) as { $defs: { budget: { properties: object } } };
    expect(Object.keys(schema.$defs.budget.properties)).toEqual([...BUDGET_KEYS]);
    expect(Object.keys(UNITS)).toEqual([...BUDGET_KEYS]);
    // Compile-time (npm run typecheck): the recipe's BudgetSpec has exactly these keys.
    const same: [keyof BudgetSpec] extends [BudgetKey] ? ([BudgetKey] extends [keyof BudgetSpec] ? true : false) : false = true;
    expect(same).toBe(true);
  });
});

describe('unstable latency verdicts', () => {
  // [interval, limit, is a minimum, straddles]
  const cases: [[number, number], number, boolean, boolean][] = [
    [[1.7, 2.3], 2, false, true],
    [[2, 2.3], 2, false, true], // the true value may be exactly 2 (ok) or above (missed)
    [[1.7, 2], 2, false, false], // every value in the interval is <= 2: ok for sure
    [[1.1, 1.9], 2, false, false],
    [[2.1, 2.5], 2, false, false],
    [[96, 98], 97, true, true],
    [[97, 98], 97, true, false], // every value >= 97: ok for sure
    [[96, 97], 97, true, true],
  ];
  test.each(cases)('interval %j vs limit %d (minimum: %s) straddles: %s', (interval, limit, isMin, expected) => {
    expect(straddles(interval, limit, isMin)).toBe(expected);
  });

  test('an interval containing the limit is unstable whichever side the estimate is on; it is not met', () => {
    for (const estimate of [1.9, 2.2]) {
      expect(verdictFor('latency_ms_p95', 2, estimate, undefined, [1.7, 2.3])).toEqual({
        limit: 'latency_ms_p95',
        max: 2,
        measured: estimate,
        unit: 'ms',
        ok: false,
        unstable: true,
        interval: [1.7, 2.3],
        excess: expect.closeTo(estimate - 2, 9),
        margin: 'unstable: 95% interval 1.7-2.3 ms contains the limit 2 ms',
      });
    }
    // Outside the interval: the usual ok / missed, with no `unstable` key (report.json bytes unchanged).
    expect(verdictFor('latency_ms_p95', 2, 1.5, undefined, [1.4, 1.6])).toEqual({ limit: 'latency_ms_p95', max: 2, measured: 1.5, unit: 'ms', ok: true, excess: -0.5, margin: '0.5 ms under' });
  });

  test('the device lists unstable limits and does not pass; the summary says why and what to do', () => {
    const m = measured({ latency_ms_p95: 1.9, size_kb: 10 });
    const unstable = judgeDevice({ size_kb: 40, latency_ms_p95: 2 }, { ...m, intervals: { latency_ms_p95: [1.7, 2.3] } });
    expect(unstable).toMatchObject({ ok: false, missed: ['latency_ms_p95'], unstable: ['latency_ms_p95'], unmeasured: [] });
    const stable = judgeDevice({ size_kb: 40, latency_ms_p95: 2 }, { ...m, intervals: { latency_ms_p95: [1.85, 1.95] } });
    expect(stable).toEqual({ ok: true, missed: [], unmeasured: [], verdicts: stable.verdicts });
    expect('unstable' in stable).toBe(false);

    const s = summarizeBudgets([
      { node: 'noisy', accuracy: 98, rawBytes: 10, devices: { phone: unstable } },
      { node: 'big', accuracy: 99, rawBytes: 50, devices: { phone: judgeDevice({ size_kb: 40 }, measured({ size_kb: 50 })) } },
    ]);
    expect(s.met).toBe(false);
    expect(s.closest).toEqual({
      candidate: 'noisy',
      missed: [{ device: 'phone', limit: 'latency_ms_p95', measured: 1.9, budget: 2, unit: 'ms', margin: 'unstable: 95% interval 1.7-2.3 ms contains the limit 2 ms', unstable: true }],
    });
    expect(s.message).toBe(
      'no candidate meets every budget; closest: noisy, missed phone latency_ms_p95 (1.9 ms vs 2 ms: unstable: 95% interval 1.7-2.3 ms contains the limit 2 ms); ' +
        'only unstable limits: the measurement cannot tell whether the limit is met; measure longer (evaluate `latency.maxSeconds`, `latency.maxRuns`) or on a quieter machine',
    );
  });
});
