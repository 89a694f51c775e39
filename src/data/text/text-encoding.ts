/**
 * How a text dataset turned each string into the ids a model takes, apart
 * from the vocabulary itself: the tokenizer rule and its settings, and how
 * id sequences were cut or padded to one length.
 *
 * The text loader puts it on the dataset (`Dataset.textEncoding`) next to
 * `vocabulary`, because a model trained on these ids is only usable by an
 * app that makes the same ids: the export stage writes both next to the
 * model (stages/export/preprocessing-sidecar.ts). Plain JSON values, so it
 * can be written as it is.
 */
import type { Side } from './fit-length.js';
import type { TokenizerSettings } from './tokenize.js';

export interface TextEncoding {
  tokenizer: TokenizerSettings;
  /** Ids per example. */
  length: number;
  /** Side cut from a longer sequence (`end`: the first `length` tokens are kept). */
  truncate: Side;
  /** Side that gets `PAD_ID` for a shorter one. */
  pad: Side;
}
