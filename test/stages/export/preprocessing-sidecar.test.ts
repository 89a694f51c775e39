/**
 * Which files the sidecar has for data that is not text: class names alone
 * ship in preprocessing.json; nothing to ship is no sidecar; a vocabulary
 * without the rule that made its ids is not shipped as if it were usable.
 */
import { parseVocabulary } from '../../../src/data/text/vocabulary.js';
import { tokenizerSettings } from '../../../src/data/text/tokenize.js';
import { preprocessingSidecar } from '../../../src/stages/export/preprocessing-sidecar.js';

describe('preprocessingSidecar', () => {
  test('class names only (an images folder): preprocessing.json with classNames, no input, no vocabulary.txt', () => {
    const s = preprocessingSidecar({ classNames: ['cat', 'dog'] })!;
    expect(Object.keys(s.files)).toEqual(['preprocessing.json']);
    expect(JSON.parse(s.files['preprocessing.json']!)).toEqual({ format: 'modelpress-preprocessing', version: 1, classNames: ['cat', 'dog'] });
  });

  test('neither vocabulary nor class names (MNIST, csv): no sidecar', () => {
    expect(preprocessingSidecar({})).toBeUndefined();
  });

  test('a vocabulary without its encoding rule ships no vocabulary.txt', () => {
    expect(preprocessingSidecar({ vocabulary: ['<pad>', '<unk>', 'a'] })).toBeUndefined();
  });

  test('text: vocabulary.txt reads back through the loader\'s parser with the same ids', () => {
    const tokens = ['<pad>', '<unk>', 'the', "don't", '!', 'ﬁ'.normalize('NFKC')];
    const s = preprocessingSidecar({ vocabulary: tokens, textEncoding: { tokenizer: tokenizerSettings(), length: 8, truncate: 'end', pad: 'start' }, classNames: ['a', 'b'] })!;
    expect(Object.keys(s.files)).toEqual(['vocabulary.txt', 'preprocessing.json']);
    expect(parseVocabulary(s.files['vocabulary.txt']!, { path: 'vocabulary.txt', label: 'vocabulary.txt' }).tokens).toEqual(tokens);
    expect(s.preprocessing.input).toMatchObject({ vocabulary: { file: 'vocabulary.txt', size: 6 }, length: 8, padId: 0, unknownId: 1 });
  });
});
