/**
 * A vocabulary: token <-> id, with two ids reserved by convention.
 *
 *   id 0  `<pad>`  padding: fills sequences shorter than `length`. Keras'
 *                  `Embedding(mask_zero=True)` (tfjs `maskZero`) skips it,
 *                  and every id-sequence source here (text, npy) keeps it.
 *   id 1  `<unk>`  any token not in the vocabulary (a word seen only in
 *                  test data, a rare word cut by the size limit).
 *   id 2.. the most frequent training tokens, most frequent first; ties in
 *                  code-point order, so the same text always gives the same ids.
 *
 * Built from the training text only: a vocabulary that had seen the test
 * set would give test-only words their own ids, and the measured accuracy
 * would not be what the deployed model, meeting new words, achieves.
 *
 * The file form (`vocabularyFile:`, and what is shipped next to a model so
 * an app can map text to ids) is one token per line in id order, `<pad>` and
 * `<unk>` first, UTF-8: the format of Keras `TextVectorization`'s
 * `get_vocabulary()` written line by line (with `<unk>` for `[UNK]`).
 */
import { DataError } from '../errors.js';
import type { SourceFile } from '../source.js';

export const PAD = '<pad>';
export const UNK = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;

/** `tokens[id]` is the token of `id`; `ids` the reverse. */
export interface Vocabulary {
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
}

function fromTokens(tokens: string[]): Vocabulary {
  return { tokens, ids: new Map(tokens.map((t, i) => [t, i])) };
}

/**
 * The `size` ids (`<pad>`, `<unk>` and the `size - 2` most frequent tokens)
 * of `texts`, each already tokenised. Fewer when the text has fewer distinct
 * tokens.
 */
export function buildVocabulary(texts: Iterable<readonly string[]>, size: number): Vocabulary {
  if (!Number.isSafeInteger(size) || size < 3) throw new RangeError(`Expected a vocabulary size >= 3 (<pad>, <unk> and a token), got ${String(size)}`);
  const counts = new Map<string, number>();
  for (const tokens of texts) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return fromTokens([PAD, UNK, ...ranked.slice(0, size - 2).map(([t]) => t)]);
}

/** The id of each token (`UNK_ID` for tokens not in the vocabulary). */
export function encodeTokens(tokens: readonly string[], vocabulary: Vocabulary): number[] {
  return tokens.map((t) => vocabulary.ids.get(t) ?? UNK_ID);
}

/** The file form: one token per line in id order, ending with a newline. */
export function formatVocabulary(vocabulary: Pick<Vocabulary, 'tokens'>): string {
  return `${vocabulary.tokens.join('\n')}\n`;
}

/**
 * Reads the file form. Refused, at the line: a first line other than
 * `<pad>` or a second other than `<unk>` (ids would silently shift by one
 * against the model's embedding), a blank line or one with spaces (no token
 * has them), a duplicate.
 */
export function parseVocabulary(text: string, src: SourceFile): Vocabulary {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new DataError('empty vocabulary file', { code: 'empty', file: src.label, hint: `write one token per line: ${PAD}, ${UNK}, then the tokens by id` });
  const reserved = [PAD, UNK];
  const seen = new Map<string, number>();
  lines.forEach((token, i) => {
    const line = i + 1;
    if (i < 2 && token !== reserved[i]) {
      throw new DataError(`line ${line} is ${JSON.stringify(token)}, expected ${reserved[i]!} (id ${i} is reserved for ${i === 0 ? 'padding' : 'unknown tokens'})`, {
        code: 'bad-header',
        file: src.label,
        line,
        column: 1,
        hint: `start the file with the lines ${PAD} and ${UNK}, as modelpress writes it`,
      });
    }
    if (token === '' || /\s/.test(token)) {
      throw new DataError(token === '' ? 'blank line: every line is one token' : `token ${JSON.stringify(token)} contains whitespace, which the tokenizer never produces`, { code: 'bad-header', file: src.label, line, column: 1 });
    }
    const prev = seen.get(token);
    if (prev !== undefined) {
      throw new DataError(`token ${JSON.stringify(token)} is listed twice (first on line ${prev})`, { code: 'bad-header', file: src.label, line, column: 1 });
    }
    seen.set(token, line);
  });
  return fromTokens(lines);
}
