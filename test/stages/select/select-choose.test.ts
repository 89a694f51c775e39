/**
 * The decision of `select` on constructed evaluate metrics (no models):
 * budgets of the named devices, objective, tie-breaks, closest, Pareto fronts.
 */
import type { Verdict } from '../../../src/contracts/budget.js';
import type { EvaluatedCandidate } from '../../../src/contracts/evaluation.js';
import { selectCandidate } from '../../../src/stages/select/select-choose.js';
import type { JudgedDevice } from '../../../src/stages/select/select-choose.js';

/** A candidate as evaluate's contract has it; `interval`: the p95's confidence interval. */
function cand(node: string, accuracy: number, raw: number, packed: number, latencyMs?: number, interval: [number, number] | null = null): EvaluatedCandidate {
  return {
    node,
    stage: 'prune',
    matrix: {},
    reference: false,
    judged: true,
    accuracy,
    accuracyDropPp: 98 - accuracy,
    sizeBytes: { raw, gzip: raw / 2, brotli: raw / 3, packed },
    params: 100,
    nonZeros: 50,
    sparsity: 0.5,
    macs: 100,
    effectiveMacs: 50,
    macsComplete: true,
    latency: {
      phone:
        latencyMs === undefined
          ? { measured: false, note: 'not measured (latency.measure: never)' }
          : {
              measured: true, runtime: 'wasm', backendActual: 'wasm', threadsRequested: 1, threadsActual: 1, batch: 1,
              p50Ms: latencyMs, p95Ms: latencyMs * 1.5, runs: 30, spread: 1.5, stable: true, stopReason: 'stable',
              p50IntervalMs: null, p95IntervalMs: interval, pid: 1, notes: [],
            },
    },
    devices: {},
  };
}

const phone = (budget: JudgedDevice['budget']): JudgedDevice => ({ name: 'phone', budget });

describe('selectCandidate', () => {
  const a = cand('prune[s=0.5]', 97, 100 * 1024, 60 * 1024, 2);
  const b = cand('prune[s=0.8]', 96, 100 * 1024, 30 * 1024, 1.5);
  const c = cand('prune[s=0.95]', 90, 100 * 1024, 10 * 1024, 1);

  test('the best passing candidate by the objective; the others are ranked after it', () => {
    const s = selectCandidate([a, b, c], [phone({ accuracy_min: 95 })], 'size_packed');
    expect(s.chosen.node).toBe('prune[s=0.8]'); // c is smaller but misses accuracy_min
    expect(s.budgets).toMatchObject({ met: true, passing: ['prune[s=0.5]', 'prune[s=0.8]'] });
    expect(s.ranking.map((r) => [r.node, r.passes])).toEqual([
      ['prune[s=0.8]', true],
      ['prune[s=0.5]', true],
      ['prune[s=0.95]', false],
    ]);
    expect(s.chosen.objectiveValue).toBe(30 * 1024);
    expect(selectCandidate([a, b, c], [phone({ accuracy_min: 95 })], 'accuracy').chosen.node).toBe('prune[s=0.5]');
    expect(selectCandidate([a, b, c], [phone({ accuracy_min: 80 })], 'latency_p95').chosen.node).toBe('prune[s=0.95]');
    // No devices: nothing to meet, the objective alone decides.
    expect(selectCandidate([a, b, c], [], 'size_packed').chosen.node).toBe('prune[s=0.95]');
  });

  test("a browser device's parity verdict, as evaluate recorded it, is carried: a failed parity fails the device", () => {
    const parityVerdict = (ok: boolean): Verdict => ({ limit: 'parity', max: 1e-5, measured: ok ? 0 : 0.2, unit: '', ok, excess: ok ? -1e-5 : 0.2, margin: ok ? 'argmax 32/32' : 'argmax 30/32' });
    const withParity = (c: EvaluatedCandidate, ok: boolean): EvaluatedCandidate => ({ ...c, devices: { web: { ok, missed: ok ? [] : ['parity'], unmeasured: [], verdicts: [parityVerdict(ok)] } } });
    const cands = [withParity(cand('small', 97, 1000, 100), false), withParity(cand('large', 97, 1000, 200), true)];
    const s = selectCandidate(cands, [{ name: 'web', budget: {} }], 'size_packed');
    expect(s.chosen.node).toBe('large'); // smaller, but its browser outputs differ from Node's
    expect(s.ranking.find((r) => r.node === 'small')!.devices.web).toMatchObject({ ok: false, missed: ['parity'] });
  });

  test('a limit that was not measured does not block', () => {
    const unmeasured = [cand('x', 97, 1000, 500), cand('y', 96, 1000, 400)];
    const s = selectCandidate(unmeasured, [phone({ latency_ms_p95: 1 })], 'size_packed');
    expect(s.budgets.met).toBe(true);
    expect(s.chosen.node).toBe('y');
    expect(s.budgets.unmeasured).toEqual(['phone latency_ms_p95']);
    expect(s.chosen.devices.phone!.verdicts[0]).toMatchObject({ ok: null, margin: 'not measured (latency.measure: never)' });
  });

  test('no candidate meets the budget: the closest as evaluate defines it (fewest misses, smallest relative excess)', () => {
    const s = selectCandidate([a, b, c], [phone({ size_packed_kb: 20, accuracy_min: 95 })], 'size_packed');
    // a: misses size by 40 KB; b: by 10 KB; c: size ok, accuracy short by 5 pp. One miss each; relative excess a 2, b 0.5, c 5/95.
    expect(s.budgets.met).toBe(false);
    expect(s.chosen.node).toBe('prune[s=0.95]');
    expect(s.budgets.closest).toEqual({
      candidate: 'prune[s=0.95]',
      missed: [{ device: 'phone', limit: 'accuracy_min', measured: 90, budget: 95, unit: '%', margin: '5.00 pp short' }],
    });
  });

  test('an unstable latency limit (its interval contains the limit) does not pass: a stable candidate is chosen over it', () => {
    // noisy: p95 1.5 ms, interval 1.4-2.1 ms contains the 2 ms limit; steady: p95 1.8 ms, interval 1.7-1.9 ms.
    const noisy = cand('noisy', 97, 1000, 100, 1, [1.4, 2.1]);
    const steady = cand('steady', 97, 1000, 200, 1.2, [1.7, 1.9]);
    const s = selectCandidate([noisy, steady], [phone({ latency_ms_p95: 2 })], 'size_packed');
    expect(s.chosen.node).toBe('steady');
    expect(s.budgets.passing).toEqual(['steady']);
    expect(s.ranking.find((r) => r.node === 'noisy')!.devices.phone).toMatchObject({ ok: false, unstable: ['latency_ms_p95'] });
    // Only unstable candidates: none passes, the summary says the measurement could not tell.
    const alone = selectCandidate([noisy], [phone({ latency_ms_p95: 2 })], 'size_packed');
    expect(alone.budgets.met).toBe(false);
    expect(alone.budgets.message).toContain('only unstable limits: the measurement cannot tell whether the limit is met');
  });

  test('ties: higher accuracy, then smaller raw size, then node id, whatever the input order', () => {
    const t1 = cand('n-b', 95, 2000, 500);
    const t2 = cand('n-a', 95, 2000, 500);
    const t3 = cand('n-c', 95, 1500, 500);
    const t4 = cand('n-d', 96, 3000, 500);
    for (const order of [
      [t1, t2, t3, t4],
      [t4, t3, t2, t1],
      [t2, t4, t1, t3],
    ]) {
      const s = selectCandidate(order, [], 'size_packed');
      expect(s.ranking.map((r) => r.node)).toEqual(['n-d', 'n-c', 'n-a', 'n-b']);
    }
  });

  test('Pareto fronts: size vs accuracy, and per device latency vs accuracy', () => {
    const d = cand('d', 96, 100 * 1024, 30 * 1024, 3); // same size and accuracy as b, slower
    const e = cand('e', 95, 100 * 1024, 40 * 1024, 1.2); // dominated by b on size
    const s = selectCandidate([a, b, c, d, e], [phone({})], 'size_packed');
    expect(s.pareto.size.sizeKind).toBe('packed');
    // b and d share (30 KB, 96%): neither dominates the other; e is dominated by b.
    expect(s.pareto.size.front.map((p) => [p.node, p.value / 1024, p.accuracy])).toEqual([
      ['prune[s=0.95]', 10, 90],
      ['d', 30, 96],
      ['prune[s=0.8]', 30, 96],
      ['prune[s=0.5]', 60, 97],
    ]);
    expect(s.pareto.latency!.percentile).toBe('p50');
    expect(s.pareto.latency!.devices.phone!.map((p) => p.node)).toEqual(['prune[s=0.95]', 'e', 'prune[s=0.8]', 'prune[s=0.5]']);
    const gz = selectCandidate([a, b, c], [], 'size_gzip');
    expect(gz.pareto.size).toMatchObject({ sizeKind: 'gzip' });
    // Equal raw sizes: only the most accurate is on the raw front.
    expect(selectCandidate([a, b, c], [], 'size').pareto.size.front.map((p) => p.node)).toEqual(['prune[s=0.5]']);
    expect(selectCandidate([cand('x', 1, 1, 1)], [phone({})], 'size').pareto.latency).toBeNull();
  });
});
