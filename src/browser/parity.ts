/**
 * Output parity between the browser and Node: the same artifact, the same
 * fixed batch, both sides' outputs compared. Two numbers per comparison:
 * how many examples get the same argmax (the class a user sees), and the
 * largest absolute difference of any output value.
 *
 * Tolerances per browser backend, on max |difference| relative to the
 * outputs' scale (max(1, largest |Node output|), so softmax probabilities
 * are compared absolutely and large logits relatively). Measured on the MLPs
 * of test/browser/parity.test.ts and examples/browser-latency.yaml against
 * Node's wasm backend (docs/browser.md has the numbers): wasm vs wasm and
 * cpu vs wasm differ by float32 rounding of different summation orders
 * (~1e-7); webgl runs float32 on SwiftShader here but may use float16
 * textures on a real GPU, hence its looser bound.
 */
import type { BrowserBackend, PageTensor } from './page-protocol.js';

/** Examples in the parity batch (the first ones of the evaluate data set). */
export const PARITY_EXAMPLES = 32;

export const PARITY_TOLERANCE: Readonly<Record<BrowserBackend, number>> = {
  wasm: 1e-5,
  cpu: 1e-5,
  webgl: 1e-3,
};

/** One output set compared with Node's. */
export interface OutputParity {
  /** Examples whose argmax (of every output) is the same as Node's. */
  argmaxMatches: number;
  /** Largest |browser - Node| over every output value. */
  maxAbsDiff: number;
  /** argmaxMatches === examples and maxAbsDiff <= tolerance. */
  ok: boolean;
}

/** A tensor read back in Node (values as a typed array). */
export interface HostTensor {
  shape: number[];
  values: ArrayLike<number>;
}

/**
 * Compares `actual` (the page's outputs) with `reference` (Node's), output by
 * output; `tolerance` is the effective one (see toleranceFor).
 */
export function compareOutputs(reference: readonly HostTensor[], actual: readonly PageTensor[], examples: number, tolerance: number): OutputParity {
  if (reference.length !== actual.length) {
    throw new Error(`Expected ${reference.length} output(s) from the browser, got ${actual.length}`);
  }
  let maxAbsDiff = 0;
  const rowOk = new Array<boolean>(examples).fill(true);
  reference.forEach((ref, o) => {
    const act = actual[o]!;
    if (JSON.stringify(ref.shape) !== JSON.stringify(act.shape)) {
      throw new Error(`Expected browser output ${o} of shape ${JSON.stringify(ref.shape)}, got ${JSON.stringify(act.shape)}`);
    }
    for (let i = 0; i < ref.values.length; i++) {
      const d = Math.abs(ref.values[i]! - act.values[i]!);
      // NaN on either side is a difference, not a pass.
      maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbsDiff, d);
    }
    const width = ref.values.length / examples;
    for (let r = 0; r < examples; r++) {
      if (argmax(ref.values, r * width, width) !== argmax(act.values, r * width, width)) rowOk[r] = false;
    }
  });
  const argmaxMatches = rowOk.filter(Boolean).length;
  return { argmaxMatches, maxAbsDiff, ok: argmaxMatches === examples && maxAbsDiff <= tolerance };
}

/** PARITY_TOLERANCE[backend] scaled by max(1, largest |reference value|). */
export function toleranceFor(backend: BrowserBackend, reference: readonly HostTensor[]): number {
  let scale = 1;
  for (const t of reference) for (let i = 0; i < t.values.length; i++) scale = Math.max(scale, Math.abs(t.values[i]!));
  return PARITY_TOLERANCE[backend] * scale;
}

function argmax(values: ArrayLike<number>, start: number, width: number): number {
  let best = 0;
  for (let k = 1; k < width; k++) if (values[start + k]! > values[start + best]!) best = k;
  return best;
}

/** `3.1e-7`: parity differences are far below what fmt's 3 significant decimals show. */
export function formatDiff(d: number): string {
  if (d === 0) return '0';
  if (!Number.isFinite(d)) return String(d);
  return d.toExponential(1).replace('.0e', 'e');
}
