/**
 * The export stage's preprocessing sidecar, proven against the text loader:
 * the fortunes sample (examples/text/sample/) loaded through the loader, a
 * tiny untrained Embedding model exported with `data:`, then the raw text
 * re-encoded from vocabulary.txt + preprocessing.json alone, by a reference
 * tokenizer written here from the documented rule (docs/data.md, not the
 * loader's code) and by the helper docs/data.md tells users to copy. Both
 * must give exactly the loader's ids. What matters is the preprocessing, so
 * the model is never trained.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { splitIndices } from '../../../src/data/dataset.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { FileHashCache } from '../../../src/data/file-hash.js';
import { textLoader } from '../../../src/data/text/text.js';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import { exportStage } from '../../../src/stages/export/export.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, upstream } from '../evaluate/evaluate-helpers.js';

const SAMPLE = join(import.meta.dirname, '../../../examples/text/sample/fortunes-sample.tsv');
const DOCS = join(import.meta.dirname, '../../../docs/data.md');
const LENGTH = 12;
const split = (take: 'train' | 'test') => ({ test: 0.25, seed: 1, take });
// A small vocabulary, so the training text has <unk>s too; 12 ids, so short fortunes are padded and long ones cut.
const DATA: Record<string, Json> = {
  train: { uses: 'text', file: SAMPLE, length: LENGTH, vocabulary: 80, split: split('train') },
  test: { uses: 'text', file: SAMPLE, length: LENGTH, vocabulary: 80, split: split('test') },
  // The other sides and case kept: the rule must follow the settings, not the defaults.
  other: { uses: 'text', file: SAMPLE, length: 20, vocabulary: 120, truncate: 'start', pad: 'end', lowercase: false },
  digits: { uses: 'mnist', split: 'test', limit: 20, flatten: true },
};

/**
 * Reference encoder, from docs/data.md's rule only: NFKC, U+2019 as `'`,
 * lowercase when asked; a token is a run of letters, digits and marks with
 * inner apostrophes, or one other non-space character; unknown tokens get
 * `unknownId`; cut on `truncate`, `padId` on `pad`, to `length`.
 */
function referenceEncode(text: string, pre: any, vocabulary: string): number[] {
  const p = pre.input;
  const ids = new Map<string, number>();
  vocabulary.split('\n').forEach((t, i) => t !== '' && ids.set(t, i));
  let s = text.normalize('NFKC').replace(/\u2019/g, "'");
  if (p.tokenizer.lowercase) s = s.toLowerCase();
  const words = s.match(/[\p{L}\p{N}\p{M}]+(?:'[\p{L}\p{N}\p{M}]+)*|[^\s\p{L}\p{N}\p{M}]/gu) ?? [];
  let seq = words.map((w) => ids.get(w) ?? p.unknownId);
  if (seq.length > p.length) seq = p.truncate === 'end' ? seq.slice(0, p.length) : seq.slice(-p.length);
  const pad: number[] = Array(p.length - seq.length).fill(p.padId);
  return p.pad === 'start' ? [...pad, ...seq] : [...seq, ...pad];
}

/** The `makeEncoder` users copy from docs/data.md, run as written. */
async function docsEncoder(): Promise<(pre: unknown, vocabulary: string) => (text: string) => number[]> {
  const md = await readFile(DOCS, 'utf8');
  const block = /<!-- encoder:start -->\s*```js\n([\s\S]*?)```\s*<!-- encoder:end -->/.exec(md);
  if (!block) throw new Error('docs/data.md has no encoder block between <!-- encoder:start --> and <!-- encoder:end -->');
  return new Function(`${block[1]!.replace(/^export /m, '')}\nreturn makeEncoder;`)();
}

const rows = (ds: Dataset): number[][] => Array.from({ length: ds.count }, (_, i) => Array.from(ds.x.subarray(i * ds.shape[0]!, (i + 1) * ds.shape[0]!)));

describe('export: preprocessing sidecar', () => {
  let h: Harness;
  let model: ArtifactRef;
  let texts: string[];

  beforeAll(async () => {
    h = await createHarness({ data: DATA });
    const tf = await h.engine.tf();
    // Embedding wide enough for every dataset's ids; untrained: the sidecar is about the ids.
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 120, outputDim: 4, inputLength: LENGTH }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 5, activation: 'softmax' }));
    const dir = join(h.dir, 'tiny-text-model');
    await h.engine.saveModel(m, dir);
    m.dispose();
    model = await h.artifact(dir);
    texts = (await readFile(SAMPLE, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(l.indexOf('\t') + 1));
  }, 60000);
  afterAll(() => h.cleanup());

  const up = () => inputsOf(upstream('train', 'train', model));

  test('vocabulary.txt + preprocessing.json alone re-encode the raw text to the loader\'s exact ids; the docs helper agrees', async () => {
    const r = await h.run(exportStage, { data: 'train', to: 'dist/text-model' }, up(), 'export');
    const out = r.outputs.model!;
    expect((await readdir(out)).sort()).toEqual(['group1-shard1of1.bin', 'model-card.json', 'model.json', 'model.mpk', 'preprocessing.json', 'vocabulary.txt']);
    // `to:` gets the same files.
    expect((await readdir(join(h.dir, 'dist/text-model'))).sort()).toEqual((await readdir(out)).sort());
    expect(r.metrics).toMatchObject({ files: ['model.json', 'group1-shard1of1.bin', 'model.mpk', 'vocabulary.txt', 'preprocessing.json'], preprocessing: { data: 'train', files: ['vocabulary.txt', 'preprocessing.json'] } });
    const card = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    expect(card.preprocessing).toEqual({ data: 'train', files: ['vocabulary.txt', 'preprocessing.json'] });

    const pre = JSON.parse(await readFile(join(out, 'preprocessing.json'), 'utf8'));
    const vocabulary = await readFile(join(out, 'vocabulary.txt'), 'utf8');
    expect(pre).toMatchObject({
      format: 'modelpress-preprocessing',
      version: 1,
      input: { kind: 'text', tokenizer: { name: 'words', version: 1, lowercase: true }, vocabulary: { file: 'vocabulary.txt', size: 80 }, length: LENGTH, truncate: 'end', pad: 'start', padId: 0, unknownId: 1 },
      classNames: ['computers', 'food', 'law', 'sports', 'startrek'],
    });
    expect(vocabulary.split('\n').slice(0, 2)).toEqual(['<pad>', '<unk>']);
    expect(vocabulary.split('\n')).toHaveLength(80 + 1); // 80 tokens, then the final newline

    const ctx = h.ctx();
    const [train, test] = [await ctx.data('train'), await ctx.data('test')];
    const { kept, held } = splitIndices(texts.length, 0.25, 1);
    const encode = (await docsEncoder())(pre, vocabulary);
    for (const [ds, lines] of [[train, kept], [test, held]] as const) {
      const raw = Array.from(lines, (i) => texts[i]!);
      expect(raw.map((t) => referenceEncode(t, pre, vocabulary))).toEqual(rows(ds));
      expect(raw.map(encode)).toEqual(rows(ds));
    }
    // Not vacuous: the held-out text has unknown words, padding and cut fortunes.
    const ids = rows(test).flat();
    expect(ids.filter((v) => v === 1).length).toBeGreaterThan(5);
    expect(rows(test).some((r) => r[0] === 0)).toBe(true);
    expect(held.some((i) => referenceEncode(texts[i]!, { input: { ...pre.input, length: 1000 } }, vocabulary).filter((v) => v !== 0).length > LENGTH)).toBe(true);

    // Fed back through `vocabularyFile:`, the shipped vocabulary gives the same ids.
    const again = await textLoader.load(
      { file: SAMPLE, length: LENGTH, vocabularyFile: join(out, 'vocabulary.txt'), split: split('test') },
      { baseDir: h.dir, hashes: new FileHashCache() },
    );
    expect(again.vocabulary).toEqual(test.vocabulary);
    expect(Array.from(again.x)).toEqual(Array.from(test.x));
  });

  test('the settings follow the dataset: truncate start, pad end, case kept; for any format', async () => {
    const r = await h.run(exportStage, { data: 'other', format: 'packed' }, up());
    const out = r.outputs.model!;
    expect((await readdir(out)).sort()).toEqual(['model-card.json', 'model.mpk', 'preprocessing.json', 'vocabulary.txt']);
    const pre = JSON.parse(await readFile(join(out, 'preprocessing.json'), 'utf8'));
    expect(pre.input).toMatchObject({ tokenizer: { lowercase: false }, length: 20, truncate: 'start', pad: 'end' });
    const vocabulary = await readFile(join(out, 'vocabulary.txt'), 'utf8');
    const other = await h.ctx().data('other');
    const encode = (await docsEncoder())(pre, vocabulary);
    expect(texts.map((t) => referenceEncode(t, pre, vocabulary))).toEqual(rows(other));
    expect(texts.map(encode)).toEqual(rows(other));
    // Case kept: some token has a capital letter.
    expect(vocabulary.split('\n').some((t) => /\p{Lu}/u.test(t))).toBe(true);
  });

  test('without `data:` no sidecar is written, and a recipe with text datasets is warned', async () => {
    const ctx = h.ctx('export-plain');
    const r = await exportStage.run(ctx, { format: 'tfjs', tflite: {} as any, allowOutside: false, overwrite: false, foldBatchNorm: false }, up());
    expect((await readdir(r.outputs.model!)).sort()).toEqual(['group1-shard1of1.bin', 'model-card.json', 'model.json']);
    expect(r.metrics!.preprocessing).toBeUndefined();
    expect(ctx.logs.find((l) => l.startsWith('warn export: no `data:`'))).toContain('text datasets here: train, test, other');
  });

  test('a dataset with neither vocabulary nor class names (MNIST) is a config error at `data`, before anything is written', async () => {
    const err = await h.run(exportStage, { data: 'digits' }, up()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect(err).toMatchObject({ path: ['data'], message: expect.stringContaining('dataset `digits` carries no preprocessing to ship') });
  });
});
