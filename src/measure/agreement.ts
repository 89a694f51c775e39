/**
 * Agreement of a candidate model with a reference model: how closely the
 * candidate's output probabilities follow the reference's on the same
 * examples. It needs no labels, so a compressed model can be judged on any
 * data the user has (a folder of unlabelled photos), and with labels it says
 * what accuracy alone hides (two models at 90% can disagree on 15% of the
 * examples).
 *
 * Streaming: `AgreementAccumulator.add` takes one batch of rows at a time and
 * keeps only sums, so a big evaluation set never has all its outputs in
 * memory. Plain typed arrays and float64 sums, no tfjs: the caller reads each
 * batch's outputs once and hands them in.
 *
 * Per example with reference probabilities p and candidate probabilities q
 * (rows of `classes` values, taken as they are: the models here end in
 * softmax):
 * - top-1 agreement: argmax p === argmax q (ties: the lowest index, as
 *   tf.argMax picks);
 * - top-k overlap: |topk(p) ∩ topk(q)| / k with k = min(5, classes) (ties: the
 *   lower index ranks first). With fewer than 5 classes k is the class count,
 *   and `k` in the result says so;
 * - KL(p || q) = Σ_i p_i · ln(max(p_i, ε) / max(q_i, ε)), ε = KL_EPSILON. A
 *   class the reference gives 0 adds exactly 0; ε only keeps a candidate's 0
 *   (an underflowed probability) from making the divergence infinite;
 * - max |p_i - q_i| over every output value of every example.
 */

/** Floor of a probability inside KL's logarithm: the clip evaluateAccuracy's cross-entropy uses (float32 softmax outputs underflow to 0). */
export const KL_EPSILON = 1e-7;

/** The most classes top-k overlap compares. */
export const TOP_K = 5;

export interface AgreementResult {
  /** Examples compared. */
  examples: number;
  /** Classes per output row. */
  classes: number;
  /** Percent of examples whose top-1 class is the reference's. */
  top1: number;
  /** The k of the overlap: 5, or the class count when there are fewer than 5 classes. */
  k: number;
  /** Mean |topk(reference) ∩ topk(candidate)| / k, in percent. */
  topKOverlap: number;
  /** Mean KL(reference || candidate) over the examples, in nats. */
  meanKl: number;
  /** Largest |reference - candidate| over every output value. */
  maxAbsDiff: number;
}

/** Index of the largest value of row[0..n) (the lowest such index on ties). */
function argmax(row: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  let v = row[offset]!;
  for (let i = 1; i < n; i++) {
    const x = row[offset + i]!;
    if (x > v) {
      v = x;
      best = i;
    }
  }
  return best;
}

/** The indices of the k largest values of the row (larger first, lower index first on ties), into `out`. */
function topk(row: ArrayLike<number>, offset: number, n: number, k: number, out: Int32Array): void {
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const x = row[offset + i]!;
    // Insertion into a sorted list of at most k (k <= 5): cheaper than sorting the row.
    if (filled === k && x <= row[offset + out[k - 1]!]!) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && row[offset + out[j - 1]!]! < x) {
      out[j] = out[j - 1]!;
      j--;
    }
    out[j] = i;
  }
}

/** Sums over batches of (reference, candidate) output rows; `result()` at any time gives the agreement so far. */
export class AgreementAccumulator {
  private examples = 0;
  private top1Hits = 0;
  private overlapSum = 0;
  private klSum = 0;
  private maxAbs = 0;
  readonly k: number;
  private readonly a: Int32Array;
  private readonly b: Int32Array;

  constructor(readonly classes: number) {
    if (!Number.isSafeInteger(classes) || classes < 1) throw new TypeError(`Expected classes to be an integer >= 1, got ${String(classes)}`);
    this.k = Math.min(TOP_K, classes);
    this.a = new Int32Array(this.k);
    this.b = new Int32Array(this.k);
  }

  /** One batch: `reference` and `candidate` hold the same `rows` examples, `classes` values each, row after row. */
  add(reference: ArrayLike<number>, candidate: ArrayLike<number>, rows: number): void {
    const c = this.classes;
    if (reference.length !== rows * c || candidate.length !== rows * c) {
      throw new TypeError(`Expected ${rows} rows of ${c} outputs (${rows * c} values) from both models, got ${reference.length} (reference) and ${candidate.length} (candidate)`);
    }
    const { k, a, b } = this;
    for (let r = 0; r < rows; r++) {
      const o = r * c;
      if (argmax(reference, o, c) === argmax(candidate, o, c)) this.top1Hits++;
      topk(reference, o, c, k, a);
      topk(candidate, o, c, k, b);
      let common = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (a[i] === b[j]) common++;
      this.overlapSum += common / k;
      let kl = 0;
      for (let i = 0; i < c; i++) {
        const p = reference[o + i]!;
        const q = candidate[o + i]!;
        if (p > 0) kl += p * Math.log(Math.max(p, KL_EPSILON) / Math.max(q, KL_EPSILON));
        const d = Math.abs(p - q);
        if (d > this.maxAbs) this.maxAbs = d;
      }
      this.klSum += kl;
    }
    this.examples += rows;
  }

  result(): AgreementResult {
    const n = this.examples;
    return {
      examples: n,
      classes: this.classes,
      top1: n === 0 ? 0 : (100 * this.top1Hits) / n,
      k: this.k,
      topKOverlap: n === 0 ? 0 : (100 * this.overlapSum) / n,
      meanKl: n === 0 ? 0 : this.klSum / n,
      maxAbsDiff: this.maxAbs,
    };
  }
}
