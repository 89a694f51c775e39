import * as tf from '@tensorflow/tfjs';
import { npyLoader } from '../../src/data/npy.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { DataError } from '../../src/data/errors.js';
import { caught, npy, useTempDir } from './helpers.js';

const tmp = useTempDir('mp-npy-seq-');
const ctx = () => ({ baseDir: tmp.dir, hashes: new FileHashCache() });

// 2 sequences of 3 time steps with 2 features each (numpy: np.float32, shape (2, 3, 2)).
const SEQ = [0.5, -1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11.25];
// 3 token sequences of length 4, padded with 0 at the end (numpy's default int64).
const TOKENS = [5, 2, 9, 0, 1, 7, 0, 0, 3, 3, 3, 8];

beforeAll(() => {
  tmp.write('seq.npy', npy('<f4', [2, 3, 2], SEQ));
  tmp.write('seq-y.npy', npy('<i8', [2], [1, 0]));
  tmp.write('tok64.npy', npy('<i8', [3, 4], TOKENS));
  tmp.write('tok32.npy', npy('<i4', [3, 4], TOKENS));
  tmp.write('tok-y.npy', npy('<i4', [3], [0, 1, 1]));
  tmp.write('huge.npy', npy('<i8', [2, 2], [1, 2, 3, 2 ** 24 + 1]));
  tmp.write('huge-y.npy', npy('<i4', [2], [0, 1]));
});

describe('npy sequences', () => {
  it('float (N, time, features) gives examples of shape [time, features]', async () => {
    const ds = await npyLoader.load({ x: 'seq.npy', y: 'seq-y.npy' }, ctx());
    expect(ds).toMatchObject({ count: 2, shape: [3, 2], classes: 2 });
    expect(Array.from(ds.x)).toEqual(SEQ);
    const d = await npyLoader.describe!({ x: 'seq.npy', y: 'seq-y.npy' }, ctx());
    expect(d).toEqual({ shape: [3, 2], dtype: 'float32', classes: 2, labelled: true, examples: 2 });
  });

  it.each(['tok64.npy', 'tok32.npy'])('integer token ids (N, time) from %s give [time], the ids exact, 0 kept as padding', async (x) => {
    const ds = await npyLoader.load({ x, y: 'tok-y.npy' }, ctx());
    expect(ds).toMatchObject({ count: 3, shape: [4], classes: 2 });
    expect(ds.x).toBeInstanceOf(Float32Array);
    expect(Array.from(ds.x)).toEqual(TOKENS);
    expect((await npyLoader.describe!({ x, y: 'tok-y.npy' }, ctx())).shape).toEqual([4]);
  });

  it('offset and limit slice whole sequences', async () => {
    const ds = await npyLoader.load({ x: 'tok64.npy', y: 'tok-y.npy', offset: 1, limit: 1 }, ctx());
    expect(Array.from(ds.x)).toEqual([1, 7, 0, 0]);
    expect(Array.from(ds.y)).toEqual([1]);
  });

  it('the ids feed an Embedding layer as they are (what a text model does with them)', async () => {
    const ds = await npyLoader.load({ x: 'tok32.npy', y: 'tok-y.npy' }, ctx());
    const layer = tf.layers.embedding({ inputDim: 10, outputDim: 2, embeddingsInitializer: 'ones', maskZero: true });
    const out = layer.apply(tf.tensor(ds.x, [ds.count, ...ds.shape])) as tf.Tensor;
    expect(out.shape).toEqual([3, 4, 2]);
    out.dispose();
  });

  it('an id float32 cannot hold exactly is refused at its record, not rounded to another token', async () => {
    const err = await caught(() => npyLoader.load({ x: 'huge.npy', y: 'huge-y.npy' }, ctx()));
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ code: 'value-out-of-range', record: 1 });
    expect(err.message).toBe('huge.npy: record 1: value 16777217 is too large to keep exactly: datasets hold float32, exact for integers up to 2^24 (16777216)');
  });
});
