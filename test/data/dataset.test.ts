import type { Dataset } from '../../src/data/dataset.js';
import { batches, exampleSize, mulberry32, permutation, seededRandom, slice, splitDataset, splitIndices, subset, take } from '../../src/data/dataset.js';

/** 5 examples of shape [2]: x = [i*10, i*10+1], y = i % 3. */
function tiny(): Dataset {
  const x = new Float32Array(10);
  const y = new Int32Array(5);
  for (let i = 0; i < 5; i++) {
    x[2 * i] = i * 10;
    x[2 * i + 1] = i * 10 + 1;
    y[i] = i % 3;
  }
  return { name: 'tiny', x, y, count: 5, shape: [2], classes: 3, fingerprint: 'sha256:base' };
}

const orders = (it: Iterable<Int32Array>) => [...it].map((b) => Array.from(b));

describe('PRNG', () => {
  it('mulberry32 gives the same sequence on every run (pinned values)', () => {
    const r = mulberry32(42);
    expect([r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    expect(mulberry32(0)()).toBe(0.26642920868471265);
  });

  it('draws in [0, 1)', () => {
    const r = seededRandom(123);
    let min = 1;
    let max = 0;
    for (let i = 0; i < 10000; i++) {
      const v = r();
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
  });

  it.each<[number, number[]]>([
    [1, [7, 8, 3, 2, 1, 5, 9, 4, 0, 6]],
    [2, [0, 9, 4, 1, 6, 5, 3, 8, 2, 7]],
  ])('permutation(10, seed %i) is pinned', (seed, expected) => {
    expect(Array.from(permutation(10, seededRandom(seed)))).toEqual(expected);
  });

  it.each<[unknown]>([[1.5], [Number.NaN], [Infinity]])('rejects seed %p', (seed) => {
    expect(() => seededRandom(seed as number)).toThrow(new TypeError(`Expected seed to be an integer, got ${String(seed)}`));
  });
});

describe('batches', () => {
  it.each<[string, Parameters<typeof batches>[2], number[][]]>([
    ['file order without shuffle', {}, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]],
    ['drops the remainder when asked', { dropRemainder: true }, [[0, 1, 2, 3], [4, 5, 6, 7]]],
    ['seeded shuffle (pinned)', { shuffle: true, seed: 7 }, [[6, 5, 8, 1], [2, 3, 4, 7], [9, 0]]],
  ])('%s', (_name, options, expected) => {
    expect(orders(batches({ count: 10 }, 4, options))).toEqual(expected);
  });

  it('same seed, same order; different seed, different order', () => {
    const a = orders(batches({ count: 100 }, 8, { shuffle: true, seed: 1 }));
    const b = orders(batches({ count: 100 }, 8, { shuffle: true, seed: 1 }));
    const c = orders(batches({ count: 100 }, 8, { shuffle: true, seed: 2 }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.flat().sort((p, q) => p - q)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('a shared PRNG gives a new, reproducible order each epoch', () => {
    const epochs = (seed: number) => {
      const random = seededRandom(seed);
      return [0, 1].map(() => orders(batches({ count: 20 }, 20, { shuffle: true, random })));
    };
    const [e1, e2] = epochs(3);
    expect(e1).not.toEqual(e2);
    expect(epochs(3)).toEqual([e1, e2]);
  });

  it.each<[number]>([[0], [-1], [2.5]])('rejects batchSize %p', (size) => {
    expect(() => [...batches({ count: 3 }, size)]).toThrow(new TypeError(`Expected batchSize to be an integer >= 1, got ${size}`));
  });
});

describe('slices and splits', () => {
  it('take and slice are views with their own fingerprint', () => {
    const ds = tiny();
    const t = take(ds, 2);
    expect(Array.from(t.x)).toEqual([0, 1, 10, 11]);
    expect(Array.from(t.y)).toEqual([0, 1]);
    expect(t).toMatchObject({ count: 2, shape: [2], classes: 3, name: 'tiny[0:2]' });
    expect(t.x.buffer).toBe(ds.x.buffer);
    const s = slice(ds, 3);
    expect(Array.from(s.x)).toEqual([30, 31, 40, 41]);
    expect(s.count).toBe(2);
    expect(new Set([ds.fingerprint, t.fingerprint, s.fingerprint, take(ds, 3).fingerprint]).size).toBe(4);
    expect(take(ds, 2).fingerprint).toBe(t.fingerprint);
    expect(take(ds, 99)).toBe(ds);
    expect(exampleSize(ds)).toBe(2);
  });

  it('rejects bad bounds', () => {
    expect(() => slice(tiny(), 3, 2)).toThrow('Expected end to be an integer >= start (3), got 2');
    expect(() => take(tiny(), -1)).toThrow('Expected n to be an integer >= 0, got -1');
  });

  it('subset copies the chosen examples in order', () => {
    const s = subset(tiny(), [4, 0]);
    expect(Array.from(s.x)).toEqual([40, 41, 0, 1]);
    expect(Array.from(s.y)).toEqual([1, 0]);
    expect(() => subset(tiny(), [5])).toThrow('Expected indices in 0..4, got 5 at position 0');
  });

  it('splitIndices is pinned, disjoint, covering and keeps file order', () => {
    const { kept, held } = splitIndices(10, 0.3, 5);
    expect(Array.from(held)).toEqual([3, 5, 7]);
    expect(Array.from(kept)).toEqual([0, 1, 2, 4, 6, 8, 9]);
  });

  it('splitDataset is deterministic per seed', () => {
    const [fit, val] = splitDataset(tiny(), 0.4, 9);
    expect(fit.count + val.count).toBe(5);
    expect(val.count).toBe(2);
    const [fit2] = splitDataset(tiny(), 0.4, 9);
    expect(Array.from(fit2.x)).toEqual(Array.from(fit.x));
    expect(fit.fingerprint).toBe(fit2.fingerprint);
    expect(fit.fingerprint).not.toBe(val.fingerprint);
    const seeds = new Set(Array.from({ length: 8 }, (_, s) => Array.from(splitDataset(tiny(), 0.4, s)[1].y).join()));
    expect(seeds.size).toBeGreaterThan(1);
  });
});
