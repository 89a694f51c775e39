/**
 * What ships next to an exported model so an app can feed it the inputs it
 * was trained on and name its outputs: `preprocessing.json` and, for a text
 * model, `vocabulary.txt`. Format-independent: the same files go next to
 * model.json, model.mpk, model.onnx or model.tflite.
 *
 * A text classifier takes token ids; without the vocabulary (in id order),
 * the tokenizer rule, the length and the pad/truncate sides, an app cannot
 * make those ids, and without the class names it cannot read the output.
 * All of it comes from the dataset the export names (`data:`), which the
 * text loader fills (data/text/text-encoding.ts).
 *
 * preprocessing.json, version 1 (docs/stages.md, `export`; docs/data.md):
 *
 *   {
 *     "format": "modelpress-preprocessing", "version": 1,
 *     "input": {                      // only for text data
 *       "kind": "text",
 *       "tokenizer": { "name": "words", "version": 1, "normalize": "NFKC", "lowercase": true, "pattern": "..." },
 *       "vocabulary": { "file": "vocabulary.txt", "size": 4000 },
 *       "length": 64, "truncate": "end", "pad": "start", "padId": 0, "unknownId": 1
 *     },
 *     "classNames": ["computers", "food", ...]   // when the data names its classes
 *   }
 *
 * `version` changes when a field changes meaning; new optional fields do not
 * change it. Image preprocessing (size, normalisation) is not described yet:
 * for image data the file holds the class names only.
 *
 * vocabulary.txt is `formatVocabulary`'s form (data/text/vocabulary.ts), the
 * form the text loader's `vocabularyFile:` reads back, so the same ids can
 * also be used to retrain.
 */
import type { Dataset } from '../../data/dataset.js';
import type { Side } from '../../data/text/fit-length.js';
import type { TokenizerSettings } from '../../data/text/tokenize.js';
import { formatVocabulary, PAD_ID, UNK_ID } from '../../data/text/vocabulary.js';

export const PREPROCESSING_FILENAME = 'preprocessing.json';
export const VOCABULARY_FILENAME = 'vocabulary.txt';

export interface TextInput {
  kind: 'text';
  tokenizer: TokenizerSettings;
  vocabulary: { file: typeof VOCABULARY_FILENAME; size: number };
  length: number;
  truncate: Side;
  pad: Side;
  padId: typeof PAD_ID;
  unknownId: typeof UNK_ID;
}

export interface Preprocessing {
  format: 'modelpress-preprocessing';
  version: 1;
  input?: TextInput;
  classNames?: string[];
}

export interface Sidecar {
  preprocessing: Preprocessing;
  /** File name -> content, `preprocessing.json` last. */
  files: Record<string, string>;
}

/**
 * The sidecar of `ds`, or undefined when the data carries nothing an app
 * needs beyond the model (no vocabulary, no class names: MNIST, a csv).
 */
export function preprocessingSidecar(ds: Pick<Dataset, 'vocabulary' | 'textEncoding' | 'classNames'>): Sidecar | undefined {
  const files: Record<string, string> = {};
  let input: TextInput | undefined;
  // Both or neither: ids without the rule that made them cannot be reproduced.
  if (ds.vocabulary && ds.textEncoding) {
    const { tokenizer, length, truncate, pad } = ds.textEncoding;
    input = { kind: 'text', tokenizer, vocabulary: { file: VOCABULARY_FILENAME, size: ds.vocabulary.length }, length, truncate, pad, padId: PAD_ID, unknownId: UNK_ID };
    files[VOCABULARY_FILENAME] = formatVocabulary({ tokens: ds.vocabulary });
  }
  if (!input && !ds.classNames) return undefined;
  const preprocessing: Preprocessing = {
    format: 'modelpress-preprocessing',
    version: 1,
    ...(input ? { input } : {}),
    ...(ds.classNames ? { classNames: [...ds.classNames] } : {}),
  };
  files[PREPROCESSING_FILENAME] = `${JSON.stringify(preprocessing, null, 2)}\n`;
  return { preprocessing, files };
}
