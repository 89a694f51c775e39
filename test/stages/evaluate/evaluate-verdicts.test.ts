/**
 * Budget verdicts without models: margins, equality, minimum limits, not
 * measured values, and the best / closest summary.
 */
import { fmt, judgeDevice, summarizeBudgets, verdictFor } from '../../../src/stages/evaluate/evaluate-verdicts.js';
import type { Measured } from '../../../src/stages/evaluate/evaluate-verdicts.js';
import { describeVerdict } from '../../../src/stages/evaluate/evaluate-report.js';

const measured = (values: Partial<Measured['values']>, notes: Measured['notes'] = {}): Measured => ({
  values: {
    size_kb: null,
    size_gzip_kb: null,
    size_brotli_kb: null,
    size_packed_kb: null,
    latency_ms_p50: null,
    latency_ms_p95: null,
    accuracy_min: null,
    accuracy_drop_pp: null,
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
  });

  test('accuracy_min is a minimum', () => {
    expect(verdictFor('accuracy_min', 97, 95.5)).toMatchObject({ min: 97, ok: false, excess: 1.5, margin: '1.5 pp short' });
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
    expect(missed.message).toContain('closest: near');
    expect(missed.message).toContain('phone size_kb');
  });

  test('words of a verdict', () => {
    const c = { accuracy: 98.3, deltaPp: -0.1 };
    expect(describeVerdict(verdictFor('size_kb', 40, 31), c)).toBe('size 31 KB <= 40 KB ok');
    expect(describeVerdict(verdictFor('latency_ms_p95', 2, 0.9), c)).toBe('p95 latency 0.9 ms <= 2 ms ok');
    expect(describeVerdict(verdictFor('accuracy_drop_pp', 0.5, 0.1), c)).toBe('accuracy 98.3% (-0.1 pp, max drop 0.5 pp) ok');
    expect(describeVerdict(verdictFor('accuracy_min', 99, 98.3), c)).toBe('accuracy 98.3% >= 99% missed (0.7 pp short)');
    expect(describeVerdict(verdictFor('size_packed_kb', 8, null, 'not measured yet (the packed format comes with a later issue)'), c)).toBe(
      'packed size not measured yet (the packed format comes with a later issue)',
    );
  });
});
