/**
 * One-dimensional k-means for weight sharing (the `share` stage), on typed
 * arrays, without tfjs.
 *
 * Why 1-D is cheap: once the values are sorted, every cluster of a 1-D
 * k-means is a contiguous run of them, bounded by the midpoints between
 * neighbouring (sorted) centroids. A Lloyd iteration is then a binary search
 * per boundary plus a mean per run from prefix sums: O(k log n) instead of
 * O(n k). The sort (O(n log n)) and the final assignment of the weights in
 * their own order (a binary search over the k-1 midpoints each, O(n log k))
 * dominate; 30 iterations on a 784x300 kernel take a few milliseconds.
 *
 * Zeros are not clustered: they are pruned weights (Deep Compression stores
 * them sparsely, not as a cluster index), so they stay exactly +0 and are
 * marked with index -1.
 */

export const SHARE_INITS = ['linear', 'density', 'kmeans++', 'random'] as const;
export type ShareInit = (typeof SHARE_INITS)[number];

export interface KMeansOptions {
  /** Requested number of clusters (k >= 1). */
  clusters: number;
  /** How the centroids start (see `initCentroids`). */
  init: ShareInit;
  /** Most Lloyd iterations (0: the initial centroids are final). */
  iterations: number;
  /**
   * Stop once no centroid moves by more than `tolerance * (max - min)` in an
   * iteration. Iterations also stop when the assignment no longer changes.
   */
  tolerance: number;
  /** Uniform [0, 1) source for `kmeans++` and `random` (seeded by the caller). */
  random: () => number;
}

export interface KMeansResult {
  /** Ascending, distinct, at most `clusters` long (fewer when there are fewer distinct values). */
  centroids: Float64Array;
  /** Lloyd iterations that ran. */
  iterations: number;
  /** Whether the assignment or the centroids stopped changing before `iterations` ran out. */
  converged: boolean;
}

/** k-means of `sorted` (ascending, finite values). */
export function kmeans1d(sorted: Float32Array, options: KMeansOptions): KMeansResult {
  const n = sorted.length;
  if (n === 0) return { centroids: new Float64Array(0), iterations: 0, converged: true };
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + sorted[i]!;
  const c = initCentroids(sorted, options);
  const m = c.length;
  const limit = options.tolerance * (sorted[n - 1]! - sorted[0]!);
  let bounds = new Int32Array(m + 1);
  let previous = new Int32Array(m + 1);
  let iterations = 0;
  let converged = false;
  while (iterations < options.iterations) {
    runBounds(sorted, c, bounds);
    if (iterations > 0 && sameBounds(bounds, previous)) {
      converged = true;
      break;
    }
    let shift = 0;
    for (let j = 0; j < m; j++) {
      const a = bounds[j]!;
      const b = bounds[j + 1]!;
      // An empty cluster keeps its centroid: it lies between its neighbours'
      // runs, so the centroids stay sorted, and it may win members later.
      if (b === a) continue;
      const mean = (prefix[b]! - prefix[a]!) / (b - a);
      shift = Math.max(shift, Math.abs(mean - c[j]!));
      c[j] = mean;
    }
    iterations++;
    if (shift <= limit) {
      converged = true;
      break;
    }
    [bounds, previous] = [previous, bounds];
  }
  return { centroids: c, iterations, converged };
}

/**
 * Initial centroids, ascending and distinct:
 * - `linear`: evenly spaced between min and max (Deep Compression found it
 *   best: it keeps centroids for the rare large weights, which matter most);
 * - `density`: the (j + 0.5)/k quantiles, i.e. evenly spaced on the CDF;
 * - `kmeans++`: Arthur & Vassilvitskii's D^2 sampling;
 * - `random`: k distinct weights drawn uniformly (Forgy).
 */
export function initCentroids(sorted: Float32Array, options: Pick<KMeansOptions, 'clusters' | 'init' | 'random'>): Float64Array {
  const n = sorted.length;
  const k = options.clusters;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`Expected clusters to be a positive integer, got ${String(k)}`);
  if (n === 0) return new Float64Array(0);
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  let c: Float64Array;
  switch (options.init) {
    case 'linear':
      c = new Float64Array(k);
      for (let j = 0; j < k; j++) c[j] = k === 1 ? min : j === k - 1 ? max : min + ((max - min) * j) / (k - 1);
      break;
    case 'density':
      c = new Float64Array(k);
      for (let j = 0; j < k; j++) c[j] = sorted[Math.min(n - 1, Math.floor(((j + 0.5) * n) / k))]!;
      break;
    case 'kmeans++':
      c = kmeansPlusPlus(sorted, k, options.random);
      break;
    case 'random':
      c = forgy(sorted, k, options.random);
      break;
    default:
      throw new RangeError(`Expected init to be one of ${SHARE_INITS.join(', ')}, got ${String(options.init)}`);
  }
  return distinctSorted(c);
}

/**
 * D^2 sampling. D(x) (squared distance to the nearest chosen centroid) lives
 * in a Fenwick tree so each draw is O(log n); a new centroid only lowers D
 * inside its own Voronoi cell, which in 1-D is a contiguous run around it, so
 * the update walks outwards from it and stops at the cell's edges.
 */
function kmeansPlusPlus(sorted: Float32Array, k: number, random: () => number): Float64Array {
  const n = sorted.length;
  const chosen: number[] = [];
  const first = sorted[Math.min(n - 1, Math.floor(random() * n))]!;
  chosen.push(first);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = (sorted[i]! - first) ** 2;
  const tree = new Fenwick(d);
  while (chosen.length < k) {
    const total = tree.total();
    if (!(total > 0)) break; // every value already is a centroid
    const p = tree.find(random() * total);
    const c = sorted[p]!;
    chosen.push(c);
    const lower = (i: number) => {
      const dd = (sorted[i]! - c) ** 2;
      if (dd >= d[i]!) return false;
      tree.add(i, dd - d[i]!);
      d[i] = dd;
      return true;
    };
    lower(p);
    for (let i = p - 1; i >= 0 && lower(i); i--);
    for (let i = p + 1; i < n && lower(i); i++);
  }
  return Float64Array.from(chosen);
}

/** k distinct positions drawn uniformly (Floyd's algorithm: k draws, no n-sized scratch). */
function forgy(sorted: Float32Array, k: number, random: () => number): Float64Array {
  const n = sorted.length;
  if (k >= n) return Float64Array.from(sorted);
  const picked = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = Math.floor(random() * (j + 1));
    picked.add(picked.has(t) ? j : t);
  }
  return Float64Array.from([...picked].map((i) => sorted[i]!));
}

function distinctSorted(c: Float64Array): Float64Array {
  const s = Float64Array.from(c).sort();
  let m = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[m - 1]) s[m++] = s[i]!;
  return s.slice(0, m);
}

/** bounds[j]..bounds[j+1] is cluster j's run of `sorted`: values >= the midpoint below centroid j and < the one above. */
function runBounds(sorted: Float32Array, c: Float64Array, bounds: Int32Array): void {
  const m = c.length;
  const n = sorted.length;
  bounds[0] = 0;
  bounds[m] = n;
  for (let j = 1; j < m; j++) {
    const mid = (c[j - 1]! + c[j]!) / 2;
    bounds[j] = lowerBound(sorted, mid, bounds[j - 1]!, n);
  }
}

function sameBounds(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** First index in [lo, hi) with sorted[i] >= x (hi when none). */
function lowerBound(sorted: ArrayLike<number>, x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of entries of ascending `a` that are <= x. */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Prefix sums with point updates, over float64. */
class Fenwick {
  private readonly tree: Float64Array;
  private readonly top: number;

  constructor(values: Float64Array) {
    const n = values.length;
    this.tree = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) this.tree[i + 1] = values[i]!;
    for (let i = 1; i <= n; i++) {
      const parent = i + (i & -i);
      if (parent <= n) this.tree[parent] = this.tree[parent]! + this.tree[i]!;
    }
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.top = top;
  }

  add(index: number, delta: number): void {
    for (let i = index + 1; i < this.tree.length; i += i & -i) this.tree[i] = this.tree[i]! + delta;
  }

  total(): number {
    let s = 0;
    for (let i = this.tree.length - 1; i > 0; i -= i & -i) s += this.tree[i]!;
    return s;
  }

  /** Smallest index whose inclusive prefix sum exceeds `target` (clamped to the last index). */
  find(target: number): number {
    let pos = 0;
    let rest = target;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = pos + step;
      if (next < this.tree.length && this.tree[next]! <= rest) {
        pos = next;
        rest -= this.tree[next]!;
      }
    }
    return Math.min(pos, this.tree.length - 2);
  }
}

// ---------------------------------------------------------------------------
// Clustering a weight tensor

export interface ClusteredTensor {
  /** The weights with every non-zero replaced by its centroid (float32); zeros are +0. */
  values: Float32Array;
  /** Per weight: its entry in `codebook`, or -1 for a zero. */
  index: Int32Array;
  /** The distinct non-zero values now in `values`, ascending. */
  codebook: Float32Array;
  /** Members per codebook entry. */
  counts: Int32Array;
  /** Non-zero weights before clustering. */
  nonZeros: number;
  /** Mean squared error over the non-zero weights. */
  mse: number;
  iterations: number;
  converged: boolean;
}

/**
 * Clusters the non-zero entries of `weights` (any order, e.g. a flattened
 * kernel) and snaps each to its centroid, rounded to float32. Centroids that
 * fall on the same float32, and clusters that end up empty, leave the
 * codebook, so it lists exactly the distinct non-zero values written.
 *
 * @throws RangeError when a weight is NaN or infinite.
 */
export function clusterWeights(weights: Float32Array, options: KMeansOptions): ClusteredTensor {
  const n = weights.length;
  let nonZeros = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!Number.isFinite(w)) throw new RangeError(`weight ${i} is ${String(w)}: only finite weights can be clustered`);
    if (w !== 0) nonZeros++;
  }
  const sorted = new Float32Array(nonZeros);
  for (let i = 0, j = 0; i < n; i++) if (weights[i] !== 0) sorted[j++] = weights[i]!;
  sorted.sort();
  const km = kmeans1d(sorted, options);
  const c = km.centroids;
  const m = c.length;
  const mids = new Float64Array(Math.max(0, m - 1));
  for (let j = 1; j < m; j++) mids[j - 1] = (c[j - 1]! + c[j]!) / 2;

  const raw = new Int32Array(n).fill(-1);
  const used = new Uint8Array(m);
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (w === 0) continue;
    const j = upperBound(mids, w);
    raw[i] = j;
    used[j] = 1;
  }
  // Float32 rounding is monotonic, so equal float32 centroids are neighbours.
  const f32 = Float32Array.from(c);
  const toEntry = new Int32Array(m).fill(-1);
  const book: number[] = [];
  for (let j = 0; j < m; j++) {
    if (!used[j] || f32[j] === 0) continue;
    if (book.length === 0 || book[book.length - 1] !== f32[j]) book.push(f32[j]!);
    toEntry[j] = book.length - 1;
  }
  const codebook = Float32Array.from(book);
  const counts = new Int32Array(codebook.length);
  const values = new Float32Array(n); // +0 everywhere not written below
  const index = new Int32Array(n).fill(-1);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const j = raw[i]!;
    if (j < 0) continue;
    const e = toEntry[j]!;
    const w = weights[i]!;
    if (e < 0) {
      sq += w * w;
      continue;
    }
    const q = codebook[e]!;
    values[i] = q;
    index[i] = e;
    counts[e]!++;
    sq += (w - q) ** 2;
  }
  return { values, index, codebook, counts, nonZeros, mse: nonZeros > 0 ? sq / nonZeros : 0, iterations: km.iterations, converged: km.converged };
}

/** The distinct non-zero values of `values`, ascending (the codebook a shared tensor actually holds). */
export function distinctNonZero(values: Float32Array): Float32Array {
  const s = new Set<number>();
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) s.add(values[i]!);
  return Float32Array.from(s).sort();
}

/** Bits of a cluster index: ceil(log2(clusters)), at least 1. */
export function bitsPerIndex(clusters: number): number {
  return Math.max(1, Math.ceil(Math.log2(clusters)));
}

// ---------------------------------------------------------------------------
// Fine-tuning helpers (Deep Compression, section 3.3)

/**
 * out[i] = sum over every member array and every position p with
 * index[p] === index[i] of grads[member][p]; 0 where index[i] < 0. This is
 * eq. 3's dL/dC_k (summed over tied copies too), broadcast back to the
 * cluster's members so an elementwise optimizer moves them all alike.
 */
export function clusterGradients(grads: readonly Float32Array[], index: Int32Array, clusters: number, out: Float32Array): Float32Array {
  const sums = new Float64Array(clusters);
  for (const g of grads) {
    for (let i = 0; i < index.length; i++) {
      const e = index[i]!;
      if (e >= 0) sums[e] = sums[e]! + g[i]!;
    }
  }
  for (let i = 0; i < index.length; i++) out[i] = index[i]! >= 0 ? sums[index[i]!]! : 0;
  return out;
}

/**
 * out[i] = the mean, over the members of index[i]'s cluster in every array of
 * `values`, rounded to float32; +0 where index[i] < 0. Returns the centroids.
 */
export function snapToClusterMeans(values: readonly Float32Array[], index: Int32Array, clusters: number, out: Float32Array): Float32Array {
  const sums = new Float64Array(clusters);
  const counts = new Float64Array(clusters);
  for (const v of values) {
    for (let i = 0; i < index.length; i++) {
      const e = index[i]!;
      if (e < 0) continue;
      sums[e] = sums[e]! + v[i]!;
      counts[e] = counts[e]! + 1;
    }
  }
  const centroids = new Float32Array(clusters);
  for (let e = 0; e < clusters; e++) {
    const mean = Math.fround(counts[e]! > 0 ? sums[e]! / counts[e]! : 0);
    centroids[e] = mean === 0 ? 0 : mean; // never -0 (a tiny negative mean rounds to -0)
  }
  for (let i = 0; i < index.length; i++) out[i] = index[i]! >= 0 ? centroids[index[i]!]! : 0;
  return centroids;
}
