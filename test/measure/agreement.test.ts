import { AgreementAccumulator, KL_EPSILON } from '../../src/measure/agreement.js';

// Dyadic probabilities: exact in float32, so the hand-computed values below are exact too.
const P1 = [0.5, 0.25, 0.125, 0.0625, 0.0625, 0];
const Q1 = [0.25, 0.5, 0, 0.125, 0.0625, 0.0625];
const P2 = [0, 0, 0, 0, 0, 1];

// Row 1 by hand: argmax 0 vs 1 (disagree); top5(p) = {0,1,2,3,4}, top5(q) = {1,0,3,4,5}: 4 in common;
// KL = .5 ln(.5/.25) + .25 ln(.25/.5) + .125 ln(.125/ε) + .0625 ln(.0625/.125) + .0625 ln 1 + 0 (p = 0);
// max |p - q| = .25. Row 2: identical rows (agree, overlap 5/5 with ties by index, KL 0).
const KL1 = 0.5 * Math.log(2) + 0.25 * Math.log(0.5) + 0.125 * Math.log(0.125 / 1e-7) + 0.0625 * Math.log(0.5);

describe('AgreementAccumulator', () => {
  it('uses the documented epsilon', () => {
    expect(KL_EPSILON).toBe(1e-7);
  });

  it.each([
    ['one batch of two rows', [[[...P1, ...P2], [...Q1, ...P2], 2]]],
    ['two batches of one row', [[P1, Q1, 1], [P2, P2, 1]]],
  ] as const)('gives the hand-computed values on a constructed case (%s)', (_name, batches) => {
    const acc = new AgreementAccumulator(6);
    for (const [p, q, rows] of batches) acc.add(Float32Array.from(p), Float32Array.from(q), rows);
    const r = acc.result();
    expect(r).toEqual({ examples: 2, classes: 6, top1: 50, k: 5, topKOverlap: 90, meanKl: expect.any(Number), maxAbsDiff: 0.25 });
    expect(r.meanKl).toBeCloseTo(KL1 / 2, 12);
    expect(KL1).toBeCloseTo(0.1875 * Math.log(2) + 0.125 * Math.log(1.25e6), 12);
  });

  it('compares the top `classes` classes when there are fewer than 5, and says so in k', () => {
    const acc = new AgreementAccumulator(3);
    // top-3 of 3 classes always overlap fully; top-1 differs on the second row.
    acc.add(Float32Array.from([0.5, 0.25, 0.25, 0.75, 0.25, 0]), Float32Array.from([0.5, 0.25, 0.25, 0.25, 0.75, 0]), 2);
    const r = acc.result();
    expect(r.k).toBe(3);
    expect(r.top1).toBe(50);
    expect(r.topKOverlap).toBe(100);
    expect(r.meanKl).toBeCloseTo((0.75 * Math.log(3) + 0.25 * Math.log(1 / 3)) / 2, 12);
    expect(r.maxAbsDiff).toBe(0.5);
  });

  it('breaks top-1 ties at the lowest index, as tf.argMax does', () => {
    const acc = new AgreementAccumulator(2);
    acc.add(Float32Array.from([0.5, 0.5]), Float32Array.from([0.4, 0.6]), 1);
    acc.add(Float32Array.from([0.5, 0.5]), Float32Array.from([0.6, 0.4]), 1);
    expect(acc.result().top1).toBe(50);
  });

  it('floors a candidate probability of 0 at epsilon instead of an infinite divergence', () => {
    const acc = new AgreementAccumulator(2);
    acc.add(Float32Array.from([1, 0]), Float32Array.from([0, 1]), 1);
    expect(acc.result().meanKl).toBeCloseTo(Math.log(1 / KL_EPSILON), 12);
  });

  it.each([
    [0, 'Expected classes to be an integer >= 1, got 0'],
    [2.5, 'Expected classes to be an integer >= 1, got 2.5'],
  ])('refuses classes %p', (classes, message) => {
    expect(() => new AgreementAccumulator(classes)).toThrow(message);
  });

  it('refuses batches whose sizes do not match', () => {
    const acc = new AgreementAccumulator(2);
    expect(() => acc.add(new Float32Array(4), new Float32Array(2), 2)).toThrow(
      'Expected 2 rows of 2 outputs (4 values) from both models, got 4 (reference) and 2 (candidate)',
    );
  });

  it('is all zeros before any example', () => {
    expect(new AgreementAccumulator(10).result()).toEqual({ examples: 0, classes: 10, top1: 0, k: 5, topKOverlap: 0, meanKl: 0, maxAbsDiff: 0 });
  });
});
