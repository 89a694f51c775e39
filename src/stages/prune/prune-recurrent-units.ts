/**
 * Structured pruning of recurrent units (SimpleRNN, LSTM, GRU): what
 * removing unit j means for each weight of the layer, in tfjs's layout.
 *
 * tfjs stores the gates side by side on the last axis, `units` columns each,
 * in this order (tfjs-layers recurrent.ts, as Keras):
 *
 *   LSTM       kernel [in, 4u], recurrent_kernel [u, 4u], bias [4u]: i, f, c, o
 *   GRU        kernel [in, 3u], recurrent_kernel [u, 3u], bias [3u]: z, r, h
 *   SimpleRNN  kernel [in, u],  recurrent_kernel [u, u],  bias [u]
 *
 * Unit j's incoming weights are column j of every gate block (kernel,
 * recurrent kernel, bias); its outgoing weights are row j of the recurrent
 * kernel (h_j feeds every gate at the next step) and the rows of the next
 * layer's input that read it (a Dense after the last step, the next
 * recurrent layer's kernel rows: prune-structured.ts cuts those as for any
 * other source). With all of these gone the other units compute exactly
 * what they computed with unit j's outputs held at 0.
 */

/** Gate blocks per recurrent layer class. */
export const RECURRENT_GATES: Readonly<Record<string, number>> = { SimpleRNN: 1, LSTM: 4, GRU: 3 };

export function isRecurrent(className: string): boolean {
  return RECURRENT_GATES[className] !== undefined;
}

/** Columns of a gate-blocked axis (gates x units) that the kept units occupy, ascending. */
export function gateColumns(keep: readonly number[], units: number, gates: number): number[] {
  const out: number[] = [];
  for (let g = 0; g < gates; g++) for (const j of keep) out.push(g * units + j);
  return out;
}

/** One cut: keep `keep` along `axis` of the weight with this role (`kernel`, `recurrent_kernel`, `bias`). */
export interface RecurrentCut {
  role: 'kernel' | 'recurrent_kernel' | 'bias';
  axis: number;
  keep: number[];
}

/** The cuts that remove every unit not in `keep` from a recurrent layer of `units` units. */
export function recurrentUnitCuts(className: string, units: number, keep: readonly number[]): RecurrentCut[] {
  const gates = RECURRENT_GATES[className];
  if (gates === undefined) throw new TypeError(`not a recurrent layer class: ${className}`);
  const cols = gateColumns(keep, units, gates);
  return [
    { role: 'kernel', axis: 1, keep: cols },
    { role: 'recurrent_kernel', axis: 0, keep: [...keep] },
    { role: 'recurrent_kernel', axis: 1, keep: cols },
    { role: 'bias', axis: 0, keep: cols },
  ];
}

/**
 * Per unit: the L1 or L2 norm of its incoming weights, over every gate's
 * column in the kernel and the recurrent kernel (the recurrent analogue of
 * Li et al.'s filter norm).
 */
export function recurrentNormScores(kernel: Float32Array, recurrentKernel: Float32Array, units: number, gates: number, criterion: 'l1' | 'l2'): Float64Array {
  const s = new Float64Array(units);
  const width = units * gates;
  const l1 = criterion === 'l1';
  for (const w of [kernel, recurrentKernel]) {
    for (let i = 0; i < w.length; i++) {
      const v = w[i]!;
      const j = (i % width) % units;
      s[j] = s[j]! + (l1 ? (v < 0 ? -v : v) : v * v);
    }
  }
  if (!l1) for (let j = 0; j < units; j++) s[j] = Math.sqrt(s[j]!);
  return s;
}
