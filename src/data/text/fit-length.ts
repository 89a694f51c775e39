/**
 * Every example of a dataset has one shape, so id sequences of different
 * lengths are cut or padded to `length`.
 *
 * `truncate` names the side that is cut: `end` (the default) keeps the
 * first `length` tokens, where titles and openings put what a text is
 * about. `pad` names the side that gets `PAD_ID` zeros: `start` (the
 * default, as Keras `pad_sequences`) puts the real tokens last, next to a
 * recurrent layer's final state, which then classifies from the text rather
 * than from a run of padding; with `Embedding(maskZero)` either side works.
 */
import { PAD_ID } from './vocabulary.js';

export type Side = 'start' | 'end';

export interface FitLength {
  length: number;
  truncate: Side;
  pad: Side;
}

/** Writes `ids` cut or padded to `f.length` into `out` at `offset` (`out` starts zeroed or not: every slot is written). */
export function fitLength(ids: readonly number[], f: FitLength, out: Float32Array, offset: number): void {
  const kept = ids.length <= f.length ? ids : f.truncate === 'end' ? ids.slice(0, f.length) : ids.slice(ids.length - f.length);
  const padding = f.length - kept.length;
  const first = f.pad === 'start' ? padding : 0;
  out.fill(PAD_ID, offset, offset + f.length);
  for (let i = 0; i < kept.length; i++) out[offset + first + i] = kept[i]!;
}
