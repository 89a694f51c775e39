/**
 * `text`: labelled text to token-id sequences, for text classifiers
 * (Embedding + GRU/LSTM/conv1d/transformer).
 *
 *   data:
 *     train: { uses: text, file: ./fortunes.tsv, split: { test: 0.2, seed: 1, take: train } }
 *     test:  { uses: text, file: ./fortunes.tsv, split: { test: 0.2, seed: 1, take: test } }
 *
 * Each example becomes `length` ids (shape `[length]`, float32 holding
 * integers: what `Embedding` takes): the text is tokenised (tokenize.ts),
 * each token mapped through the vocabulary (vocabulary.ts: 0 padding,
 * 1 unknown), then cut or padded (fit-length.ts).
 *
 * The vocabulary and the class names come from the TRAINING text, whichever
 * dataset is loading: the train part of `split`, else `trainFile`, else the
 * file itself. So the test entry of the example above maps a word that only
 * occurs in test text to `<unk>`, as the deployed model will. The dataset
 * carries both (`vocabulary`, `classNames`) and how the ids were made
 * (`textEncoding`, text-encoding.ts), so the export stage (`data:`) can
 * write them next to the model.
 *
 * Records come from text-records.ts (`label<TAB>text` lines, or CSV with
 * named columns).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Dataset } from '../dataset.js';
import { splitIndices } from '../dataset.js';
import { describeLoaded } from '../describe.js';
import { DataError } from '../errors.js';
import { datasetFingerprint } from '../fingerprint.js';
import type { DatasetLoader, LoadContext } from '../loader.js';
import { defineLoader, resolveLoaderOptions } from '../loader.js';
import type { SourceFile } from '../source.js';
import { sourceFile, statSource } from '../source.js';
import type { Side } from './fit-length.js';
import { fitLength } from './fit-length.js';
import type { TextFormat, TextRecord } from './text-records.js';
import { formatOf, parseTextRecords } from './text-records.js';
import { tokenize, tokenizerSettings } from './tokenize.js';
import type { Vocabulary } from './vocabulary.js';
import { buildVocabulary, encodeTokens, parseVocabulary } from './vocabulary.js';

export const DEFAULT_VOCABULARY = 10000;
export const DEFAULT_LENGTH = 64;

/** `text` loader options as written in a recipe. */
export interface TextOptions {
  /** The examples: `label<TAB>text` lines, or a CSV with a header. */
  file: string;
  /** Default `auto`: `.csv` files are csv, others tsv. */
  format?: TextFormat | 'auto';
  /** csv: the header name of the text column. Default `text`. */
  textColumn?: string;
  /** csv: the header name of the label column. Default `label`. */
  labelColumn?: string;
  /** csv: field separator. Default `,`. */
  delimiter?: string;
  /** A seeded part of `file`; the vocabulary comes from the train part. */
  split?: { test: number; seed?: number; take: 'train' | 'test' };
  /** The training file the vocabulary and class names come from, when `file` is test data. */
  trainFile?: string;
  /** Ids in the vocabulary built from the training text, `<pad>` and `<unk>` included. Default 10000. */
  vocabulary?: number;
  /** A vocabulary file to use instead of building one (one token per line, `<pad>`, `<unk>` first). */
  vocabularyFile?: string;
  /** Ids per example. Default 64. */
  length?: number;
  /** Side cut from a longer text. Default `end` (keep the beginning). */
  truncate?: Side;
  /** Side padded with id 0. Default `start` (real tokens last). */
  pad?: Side;
  /** Default true. */
  lowercase?: boolean;
  /** Class names in index order. Default: the training labels, sorted. */
  classNames?: string[];
  /** At most this many examples (after `split`), in file order. */
  limit?: number;
}

export const textSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: {
    file: {
      type: 'string',
      minLength: 1,
      description: 'The examples, relative to the recipe: `label<TAB>text` per line (tsv), or a CSV whose header names `textColumn` and `labelColumn`.',
    },
    format: { enum: ['auto', 'tsv', 'csv'], default: 'auto', description: '`tsv`: `label<TAB>text` lines. `csv`: a header row, RFC 4180 quoting. `auto`: csv for `.csv` files, else tsv.' },
    textColumn: { type: 'string', minLength: 1, default: 'text', description: 'csv: the header name of the text column.' },
    labelColumn: { type: 'string', minLength: 1, default: 'label', description: 'csv: the header name of the label column.' },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, default: ',', description: 'csv: the field separator, one character.' },
    split: {
      type: 'object',
      additionalProperties: false,
      required: ['test', 'take'],
      description: 'Take a seeded part of the examples: two datasets with the same `test` and `seed`, `take: train` and `take: test`. The vocabulary and class names come from the train part in both.',
      properties: {
        test: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Fraction of the examples in the test part (rounded to whole examples).' },
        seed: { type: 'integer', default: 0, description: 'Seed of the shuffle that picks the test examples.' },
        take: { enum: ['train', 'test'], description: 'Which part this dataset is.' },
      },
    },
    trainFile: {
      type: 'string',
      minLength: 1,
      description: 'For test data in its own file: the training file (same format) whose text builds the vocabulary and whose labels are the classes. Default: `file` itself. Not with `split`.',
    },
    vocabulary: {
      type: 'integer',
      minimum: 3,
      description: `Size of the vocabulary built from the training text: ids 0 (<pad>), 1 (<unk>) and the most frequent tokens. Default ${DEFAULT_VOCABULARY}. The model's embedding must take at least this many ids.`,
    },
    vocabularyFile: {
      type: 'string',
      minLength: 1,
      description: 'Use this vocabulary instead of building one: one token per line in id order, <pad> and <unk> first (the form modelpress writes). Not with `vocabulary`.',
    },
    length: { type: 'integer', minimum: 1, maximum: 100000, default: DEFAULT_LENGTH, description: 'Token ids per example: longer texts are cut (`truncate`), shorter ones padded with id 0 (`pad`).' },
    truncate: { enum: ['start', 'end'], default: 'end', description: 'Which side of a longer text is cut: `end` keeps the first `length` tokens, `start` the last.' },
    pad: { enum: ['start', 'end'], default: 'start', description: 'Which side of a shorter text gets padding (id 0): `start` puts the text last, next to a recurrent layer\'s final state (Keras `pad_sequences` default).' },
    lowercase: { type: 'boolean', default: true, description: 'Lowercase text before tokenising.' },
    classNames: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      uniqueItems: true,
      description: 'Class names in index order. Default: the labels of the training text, sorted (numerically when all are integers). A label not listed is an error.',
    },
    limit: { type: 'integer', minimum: 1, description: 'At most this many examples (after `split`), in file order. Default: all.' },
  },
} as const;

type Resolved = Required<Pick<TextOptions, 'file' | 'format' | 'textColumn' | 'labelColumn' | 'delimiter' | 'length' | 'truncate' | 'pad' | 'lowercase'>> &
  Pick<TextOptions, 'trainFile' | 'vocabulary' | 'vocabularyFile' | 'classNames' | 'limit'> & { split?: { test: number; seed: number; take: 'train' | 'test' } };

interface Prepared {
  o: Resolved;
  src: SourceFile;
  train?: SourceFile;
  vocab?: SourceFile;
  fingerprint: string;
}

export const textLoader: DatasetLoader<TextOptions> = defineLoader<TextOptions>({
  name: 'text',
  version: '1',
  description: 'Labelled text (label<TAB>text lines, or CSV columns) as token-id sequences, with a vocabulary from the training text.',
  schema: textSchema,
  fileOptions: ['file', 'trainFile', 'vocabularyFile'],
  async load(options, ctx) {
    const p = await prepare(options, ctx);
    return loadText(p, ctx);
  },
  async fingerprint(options, ctx) {
    return (await prepare(options, ctx)).fingerprint;
  },
  // Classes come from the training labels and the count from the records:
  // parsing is most of a load, and text datasets are small next to images.
  async describe(options, ctx) {
    return describeLoaded(await textLoader.load(options, ctx));
  },
});

async function prepare(options: TextOptions, ctx: LoadContext): Promise<Prepared> {
  const o = resolveLoaderOptions<Resolved>(textLoader, options);
  const src = sourceFile(o.file, ctx.baseDir);
  if (o.split && o.trainFile !== undefined) {
    throw new DataError('`trainFile` and `split` both say where the training text is', {
      code: 'bad-option',
      file: o.trainFile,
      option: 'trainFile',
      hint: 'with `split`, the train part of `file` is the training text: remove `trainFile`',
    });
  }
  if (o.vocabularyFile !== undefined && o.vocabulary !== undefined) {
    throw new DataError('`vocabulary` (a size to build) and `vocabularyFile` (a given vocabulary) both set', {
      code: 'bad-option',
      file: o.vocabularyFile,
      option: 'vocabulary',
      hint: 'remove `vocabulary`: the file decides the size',
    });
  }
  const train = o.trainFile !== undefined ? sourceFile(o.trainFile, ctx.baseDir) : undefined;
  const vocab = o.vocabularyFile !== undefined ? sourceFile(o.vocabularyFile, ctx.baseDir) : undefined;
  const { file: _f, trainFile: _t, vocabularyFile: _v, ...rest } = o;
  // The effective size, so `vocabulary: 10000` and no `vocabulary` are one dataset.
  const identity = { ...rest, format: formatOf(o.format, o.file), ...(vocab ? {} : { vocabulary: o.vocabulary ?? DEFAULT_VOCABULARY }) };
  const files: Record<string, SourceFile> = { file: src, ...(train ? { train } : {}), ...(vocab ? { vocabulary: vocab } : {}) };
  const fingerprint = await datasetFingerprint(textLoader, identity, files, ctx.hashes);
  return { o, src, ...(train ? { train } : {}), ...(vocab ? { vocab } : {}), fingerprint };
}

async function readText(src: SourceFile): Promise<string> {
  await statSource(src);
  return readFile(src.path, 'utf8');
}

async function readRecords(src: SourceFile, o: Resolved): Promise<TextRecord[]> {
  const records = parseTextRecords(await readText(src), src, { ...o, format: formatOf(o.format, src.label) });
  if (records.length === 0) {
    throw new DataError('no examples', { code: 'empty', file: src.label, hint: formatOf(o.format, src.label) === 'csv' ? 'a header row, then one example per row' : 'one `label<TAB>text` example per line' });
  }
  return records;
}

async function loadText(p: Prepared, ctx: LoadContext): Promise<Dataset> {
  const { o, src } = p;
  const all = await readRecords(src, o);
  let mine = all;
  let training = all;
  if (o.split) {
    const { kept, held } = splitIndices(all.length, o.split.test, o.split.seed);
    training = Array.from(kept, (i) => all[i]!);
    mine = o.split.take === 'train' ? training : Array.from(held, (i) => all[i]!);
    if (mine.length === 0) throw new DataError(`split leaves no examples for \`${o.split.take}\` (${all.length} examples, test fraction ${o.split.test})`, { code: 'empty', file: src.label, option: 'split' });
  } else if (p.train) {
    training = await readRecords(p.train, o);
  }
  if (o.limit !== undefined) mine = mine.slice(0, o.limit);

  const tok = { lowercase: o.lowercase };
  const vocabulary: Vocabulary = p.vocab
    ? parseVocabulary(await readText(p.vocab), p.vocab)
    : buildVocabulary(
        training.map((r) => tokenize(r.text, tok)),
        o.vocabulary ?? DEFAULT_VOCABULARY,
      );
  const classNames = o.classNames ?? sortedLabels(training);
  const classIndex = new Map(classNames.map((c, i) => [c, i]));

  const x = new Float32Array(mine.length * o.length);
  const y = new Int32Array(mine.length);
  const fit = { length: o.length, truncate: o.truncate, pad: o.pad };
  // `mine` is `training` itself for training data: its tokens are computed twice; text is small.
  mine.forEach((r, i) => {
    const label = classIndex.get(r.label);
    if (label === undefined) throw unknownLabel(r, src, classNames, o.classNames !== undefined);
    y[i] = label;
    fitLength(encodeTokens(tokenize(r.text, tok), vocabulary), fit, x, i * o.length);
  });
  return {
    name: ctx.name ?? `text:${basename(o.file)}${o.split ? `:${o.split.take}` : ''}`,
    x,
    y,
    count: mine.length,
    shape: [o.length],
    classes: classNames.length,
    classNames,
    vocabulary: [...vocabulary.tokens],
    textEncoding: { tokenizer: tokenizerSettings(tok), ...fit },
    fingerprint: p.fingerprint,
  };
}

/** The distinct labels, sorted: numerically when every one is an integer (`2` before `10`), else by code point. */
export function sortedLabels(records: readonly Pick<TextRecord, 'label'>[]): string[] {
  const names = [...new Set(records.map((r) => r.label))];
  if (names.every((n) => /^-?\d+$/.test(n))) return names.sort((a, b) => Number(a) - Number(b));
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function unknownLabel(r: TextRecord, src: SourceFile, classNames: string[], declared: boolean): DataError {
  const list = classNames.length > 12 ? `${classNames.slice(0, 12).join(', ')}, ... (${classNames.length})` : classNames.join(', ');
  return new DataError(`label ${JSON.stringify(r.label)} is not a class ${declared ? 'in `classNames`' : 'of the training data'} (classes: ${list})`, {
    code: 'unknown-label',
    file: src.label,
    line: r.line,
    column: r.labelColumn,
    hint: declared ? 'add it to `classNames`, or fix the label' : 'fix the label, or list every class in `classNames` (a class with no training example cannot be learned)',
  });
}
