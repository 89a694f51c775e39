/**
 * The text loader's tokenizer: words and punctuation, nothing learned.
 *
 *   "Don't panic!  It's 3.14, U.S.A." -> don't panic ! it's 3 . 14 , u . s . a .
 *
 * 1. Unicode NFKC: the ligature "ﬁ" is "fi", a full-width "Ａ" is "A", so
 *    one word has one spelling before it is counted.
 *    The typographic apostrophe (U+2019) becomes `'`: "don’t" is "don't".
 * 2. Lowercase (unless `lowercase: false`), locale-independent.
 * 3. A token is a run of letters, digits and combining marks, with inner
 *    apostrophes kept (`don't`, `o'clock`: one word, as a reader sees it), or
 *    any other single non-space character (`!`, `,`, `-`, `$`, an emoji).
 *    Whitespace only separates.
 *
 * Deliberately simple and fully specified: the same text gives the same ids
 * in JavaScript, in a browser at inference time, and in a ten-line Python
 * re-implementation (`re.findall(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]|_", s.lower())`
 * is close; the unicode classes are this file's definition). A subword
 * tokenizer (BPE, WordPiece) would need its merges shipped and matched
 * exactly; for small on-device classifiers a word vocabulary is the norm.
 * Because a token never contains `<`, `>` and letters together, it cannot
 * collide with the reserved `<pad>` and `<unk>` entries of a vocabulary.
 */

const TOKEN = /[\p{L}\p{N}\p{M}]+(?:'[\p{L}\p{N}\p{M}]+)*|[^\s\p{L}\p{N}\p{M}]/gu;

export interface TokenizeOptions {
  /** Default true. */
  lowercase?: boolean;
}

/**
 * The rule above as data, for what ships next to a model
 * (`preprocessing.json`). `name` + `version` identify the rule: any change
 * to the steps or to `pattern` that changes a token is a new version, so an
 * app can refuse a rule it does not implement instead of producing other ids.
 */
export interface TokenizerSettings {
  name: 'words';
  version: 1;
  /** Unicode normalisation applied first (then U+2019 becomes `'`). */
  normalize: 'NFKC';
  lowercase: boolean;
  /** The token regular expression, JavaScript syntax, used with flags `gu`. */
  pattern: string;
}

export function tokenizerSettings(options: TokenizeOptions = {}): TokenizerSettings {
  return { name: 'words', version: 1, normalize: 'NFKC', lowercase: options.lowercase !== false, pattern: TOKEN.source };
}

/** The tokens of `text`, in order. */
export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  const normal = text.normalize('NFKC').replaceAll('\u2019', "'");
  return (options.lowercase === false ? normal : normal.toLowerCase()).match(TOKEN) ?? [];
}
