import { FileHashCache } from '../../src/data/file-hash.js';
import { DataError } from '../../src/data/errors.js';
import { describeDataset } from '../../src/data/describe.js';
import { slice } from '../../src/data/dataset.js';
import { textLoader } from '../../src/data/text/text.js';
import type { TextOptions } from '../../src/data/text/text.js';
import { tokenize } from '../../src/data/text/tokenize.js';
import { buildVocabulary, formatVocabulary, parseVocabulary } from '../../src/data/text/vocabulary.js';
import { caught, LONG_AGO, useTempDir } from './helpers.js';

const tmp = useTempDir('mp-text-');
const ctx = () => ({ baseDir: tmp.dir, hashes: new FileHashCache() });
const load = (o: Partial<TextOptions>) => textLoader.load({ file: 'train.tsv', ...o }, ctx());

// "zebra" occurs only in the test file: it must map to <unk> (id 1).
const TRAIN = ['spam\tWin money now! Win big.', 'ham\tSee you at lunch, Bob.', 'ham\tLunch at noon?', 'spam\tFree money, free prizes!'].join('\n');
const TEST = ['ham\tZebra lunch now', 'spam\tfree zebra money'].join('\n');

beforeAll(() => {
  tmp.write('train.tsv', `${TRAIN}\n`, LONG_AGO);
  tmp.write('test.tsv', `${TEST}\n`, LONG_AGO);
  tmp.write('bad-label.tsv', 'ham\tok\n\nspam \tfine\nphish\tunknown class\n');
  tmp.write('no-tab.tsv', 'ham\tok\nspam no tab here\n');
  tmp.write('empty.tsv', '\n\n');
  tmp.write('msgs.csv', 'id,text,label\n1,"Win money, now!",spam\n2,"He said ""lunch""\nat noon",ham\n3,lunch money,ham\n');
  tmp.write('crlf.csv', '\uFEFFlabel;text\r\nham;"a;b\r\nc"\r\n\r\nspam;d');
  tmp.write('bad-columns.csv', 'id,body,label\n1,hello,ham\n');
  tmp.write('vocab.txt', '<pad>\n<unk>\nmoney\nlunch\n');
  tmp.write('vocab-bad.txt', '<unk>\n<pad>\nmoney\n');
});

describe('tokenize', () => {
  it('lowercases and splits words from punctuation; inner apostrophes stay in the word', () => {
    expect(tokenize('Don’t panic!  It\'s 3.14, U.S.A.')).toEqual(["don't", 'panic', '!', "it's", '3', '.', '14', ',', 'u', '.', 's', '.', 'a', '.']);
    expect(tokenize('Ｆｕｌｌ ﬁne', { lowercase: false })).toEqual(['Full', 'fine']);
    expect(tokenize('   ')).toEqual([]);
  });
});

describe('vocabulary', () => {
  it('keeps the most frequent tokens after <pad> and <unk>, ties in code-point order', () => {
    const v = buildVocabulary([['b', 'a', 'c'], ['a', 'c'], ['d']], 4);
    expect(v.tokens).toEqual(['<pad>', '<unk>', 'a', 'c']);
  });

  it('round-trips through its file form, and a file without the reserved lines is refused at the line', () => {
    const v = buildVocabulary([['x', 'y', 'x']], 10);
    const src = { path: '/v.txt', label: 'v.txt' };
    expect(parseVocabulary(formatVocabulary(v), src).tokens).toEqual(v.tokens);
    expect(() => parseVocabulary('<pad>\n<unk>\nx\nx\n', src)).toThrow('v.txt:4:1: token "x" is listed twice (first on line 3)');
  });
});

describe('text loader', () => {
  it('builds the vocabulary from the training text: ids by frequency, padded at the start to `length`', async () => {
    const ds = await load({ length: 6 });
    expect(ds).toMatchObject({ count: 4, shape: [6], classes: 2, classNames: ['ham', 'spam'] });
    expect(Array.from(ds.y)).toEqual([1, 0, 0, 1]);
    const v = ds.vocabulary!;
    expect(v.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    // Counts: ! 2, , 2, . 2, at 2, free 2, lunch 2, money 2, win 2, then singletons.
    expect(v.slice(2, 10)).toEqual(['!', ',', '.', 'at', 'free', 'lunch', 'money', 'win']);
    const ids = (words: string[]) => words.map((w) => v.indexOf(w));
    // "Lunch at noon?": 4 tokens, 2 zeros in front.
    expect(Array.from(ds.x.subarray(12, 18))).toEqual([0, 0, ...ids(['lunch', 'at', 'noon', '?'])]);
    // "Win money now! Win big.": 7 tokens, cut at the end to 6.
    expect(Array.from(ds.x.subarray(0, 6))).toEqual(ids(['win', 'money', 'now', '!', 'win', 'big']));
  });

  it('a word seen only in the test file is <unk> (1): the vocabulary comes from `trainFile`, not the test text', async () => {
    const ds = await load({ file: 'test.tsv', trainFile: 'train.tsv', length: 4, pad: 'end' });
    const v = ds.vocabulary!;
    expect(v).not.toContain('zebra');
    expect(Array.from(ds.x)).toEqual([1, v.indexOf('lunch'), v.indexOf('now'), 0, v.indexOf('free'), 1, v.indexOf('money'), 0]);
    expect(Array.from(ds.y)).toEqual([0, 1]);
  });

  it('with `split`, both parts use the train part\'s vocabulary, and the parts cover the file', async () => {
    const split = { test: 0.5, seed: 3 };
    const tr = await load({ split: { ...split, take: 'train' } });
    const te = await load({ split: { ...split, take: 'test' } });
    expect(tr.count + te.count).toBe(4);
    expect(te.vocabulary).toEqual(tr.vocabulary);
    expect(await textLoader.fingerprint({ file: 'train.tsv', split: { ...split, take: 'test' } }, ctx())).toBe(te.fingerprint);
    expect(te.fingerprint).not.toBe(tr.fingerprint);
  });

  it('truncate: start keeps the end of a long text; vocabulary caps the ids; the vocabulary survives slicing', async () => {
    const ds = await load({ length: 3, truncate: 'start', vocabulary: 5 });
    expect(ds.vocabulary).toEqual(['<pad>', '<unk>', '!', ',', '.']);
    // "Win money now! Win big." -> last 3 tokens: win big . -> unk unk .
    expect(Array.from(ds.x.subarray(0, 3))).toEqual([1, 1, 4]);
    expect(Math.max(...ds.x)).toBeLessThan(5);
    expect(slice(ds, 1, 2).vocabulary).toBe(ds.vocabulary);
  });

  it('reads CSV with quoted commas, quotes and newlines, by column name', async () => {
    const ds = await textLoader.load({ file: 'msgs.csv', length: 8, pad: 'end' }, ctx());
    expect(ds).toMatchObject({ count: 3, classNames: ['ham', 'spam'] });
    const v = ds.vocabulary!;
    expect(Array.from(ds.x.subarray(8, 16))).toEqual(['he', 'said', '"', 'lunch', '"', 'at', 'noon', '<pad>'].map((w) => v.indexOf(w)));
  });

  it('CSV: a byte-order mark, CRLF, a quoted line break, a blank line and no final newline; errors keep counting lines', async () => {
    const ds = await textLoader.load({ file: 'crlf.csv', delimiter: ';', pad: 'end', length: 4 }, ctx());
    const v = ds.vocabulary!;
    expect(Array.from(ds.x)).toEqual([...['a', ';', 'b', 'c'].map((w) => v.indexOf(w)), v.indexOf('d'), 0, 0, 0]);
    const err = await caught(() => textLoader.load({ file: 'crlf.csv', delimiter: ';', classNames: ['ham'] }, ctx()));
    expect(err.message.startsWith('crlf.csv:5:1: label "spam" is not a class in `classNames`')).toBe(true);
  });

  it('a given vocabulary file is used as is; describe reports [length], classes and the vocabulary size', async () => {
    const ds = await load({ vocabularyFile: 'vocab.txt', length: 2 });
    expect(ds.vocabulary).toEqual(['<pad>', '<unk>', 'money', 'lunch']);
    const d = await describeDataset(textLoader, { file: 'train.tsv', vocabularyFile: 'vocab.txt', length: 2 }, ctx());
    expect(d).toEqual({ shape: [2], dtype: 'float32', classes: 2, labelled: true, examples: 4, vocabulary: 4 });
  });

  it('the fingerprint follows the files\' content and the options', async () => {
    const fp = (o: Partial<TextOptions>) => textLoader.fingerprint({ file: 'train.tsv', ...o }, ctx());
    const base = await fp({});
    expect(await fp({ vocabulary: 10000, length: 64 })).toBe(base);
    expect(await fp({ length: 32 })).not.toBe(base);
    expect(await fp({ trainFile: 'train.tsv' })).not.toBe(base);
    tmp.write('copy.tsv', `${TRAIN}\n`, LONG_AGO);
    expect(await textLoader.fingerprint({ file: 'copy.tsv' }, ctx())).toBe(base);
    tmp.write('copy.tsv', `${TRAIN}\nham\tmore\n`, LONG_AGO);
    expect(await textLoader.fingerprint({ file: 'copy.tsv' }, ctx())).not.toBe(base);
  });

  describe('errors, located', () => {
    it.each<[string, Partial<TextOptions>, string, Record<string, unknown>]>([
      ['a missing file', { file: 'nope.tsv' }, 'nope.tsv: no such file', { code: 'file-not-found' }],
      ['an empty file', { file: 'empty.tsv' }, 'empty.tsv: no examples', { code: 'empty' }],
      ['a line without a tab', { file: 'no-tab.tsv' }, 'no-tab.tsv:2:1: no tab: expected `label<TAB>text`', { code: 'field-count', line: 2 }],
      [
        'a label the training data does not have',
        { file: 'bad-label.tsv', trainFile: 'train.tsv' },
        'bad-label.tsv:4:1: label "phish" is not a class of the training data (classes: ham, spam)',
        { code: 'unknown-label', line: 4, column: 1 },
      ],
      [
        'a label not in `classNames`',
        { classNames: ['ham'] },
        'train.tsv:1:1: label "spam" is not a class in `classNames` (classes: ham)',
        { code: 'unknown-label', hint: 'add it to `classNames`, or fix the label' },
      ],
      ['a missing CSV column', { file: 'bad-columns.csv' }, 'bad-columns.csv:1:1: no column "text" in the header (columns: id, body, label)', { code: 'bad-option', option: 'textColumn' }],
      ['a vocabulary file without <pad> first', { vocabularyFile: 'vocab-bad.txt' }, 'vocab-bad.txt:1:1: line 1 is "<unk>", expected <pad> (id 0 is reserved for padding)', { code: 'bad-header' }],
      ['`trainFile` with `split`', { trainFile: 'train.tsv', split: { test: 0.5, take: 'test' } }, 'train.tsv: `trainFile` and `split` both say where the training text is', { code: 'bad-option', option: 'trainFile' }],
    ])('%s', async (_name, o, message, fields) => {
      const err = await caught(() => load(o));
      expect(err).toBeInstanceOf(DataError);
      expect(err.message.startsWith(message)).toBe(true);
      expect(err).toMatchObject(fields);
    });
  });
});
