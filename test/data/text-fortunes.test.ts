/**
 * The text loader on real text: the committed sample of Debian's fortune
 * cookies (examples/text/sample/, 12 per topic, BSD licence alongside).
 */
import { join } from 'node:path';
import { FileHashCache } from '../../src/data/file-hash.js';
import { textLoader } from '../../src/data/text/text.js';
import { tokenize } from '../../src/data/text/tokenize.js';

const ctx = { baseDir: join(import.meta.dirname, '../../examples/text/sample'), hashes: new FileHashCache() };
const entry = (take: 'train' | 'test') => ({ file: 'fortunes-sample.tsv', length: 32, split: { test: 0.25, seed: 1, take } });

describe('text loader on the fortunes sample', () => {
  it('splits 60 fortunes of 5 topics into 45 + 15, ids of shape [32] below the vocabulary size', async () => {
    const [train, test] = await Promise.all([textLoader.load(entry('train'), ctx), textLoader.load(entry('test'), ctx)]);
    expect([train.count, test.count]).toEqual([45, 15]);
    expect(train.classNames).toEqual(['computers', 'food', 'law', 'sports', 'startrek']);
    expect(test.shape).toEqual([32]);
    const size = train.vocabulary!.length;
    expect(test.vocabulary).toEqual(train.vocabulary);
    expect(test.x.every((v) => Number.isInteger(v) && v >= 0 && v < size)).toBe(true);
    // Every class is present in the training part, so test labels are known classes.
    expect(new Set(train.y).size).toBe(5);
  });

  it('test-only words are <unk>: the vocabulary never saw the test part', async () => {
    const train = await textLoader.load(entry('train'), ctx);
    const test = await textLoader.load({ ...entry('test'), pad: 'end', length: 400 }, ctx);
    const known = new Set(train.vocabulary);
    // Re-tokenise the test texts and compare position by position with the loaded ids.
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(join(ctx.baseDir, 'fortunes-sample.tsv'), 'utf8')).trim().split('\n');
    const { splitIndices } = await import('../../src/data/dataset.js');
    const { held } = splitIndices(lines.length, 0.25, 1);
    let unknown = 0;
    held.forEach((line, i) => {
      tokenize(lines[line]!.split('\t')[1]!).forEach((t, k) => {
        const id = test.x[i * 400 + k]!;
        if (known.has(t)) expect(test.vocabulary![id]).toBe(t);
        else {
          expect(id).toBe(1);
          unknown++;
        }
      });
    });
    expect(unknown).toBeGreaterThan(10);
  });
});
