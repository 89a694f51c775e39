import { readFile, rm, truncate, writeFile, appendFile, mkdir, rename, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildModel } from '../../../src/engine/builders.js';
import {
  DEFAULT_SHARD_BYTES,
  ModelIOError,
  loadModelDir,
  readModelArtifacts,
  saveModelDir,
  writeModelArtifacts,
} from '../../../src/engine/model-io.js';
import { loadTf, type Tf } from '../../../src/engine/tf.js';
import {
  FIXTURES,
  copyFixture,
  loadWithStockLoader,
  readTree,
  treeDigests,
  useTempDirs,
  weightBytes,
  weightDigests,
  weightValues,
} from './helpers.js';

let tf: Tf;
const models: LayersModel[] = [];
const tempDir = useTempDirs();

beforeAll(async () => {
  tf = await loadTf('cpu');
});

afterAll(() => {
  for (const m of models) m.dispose();
});

function keep<T extends LayersModel>(model: T): T {
  models.push(model);
  return model;
}

function predict(model: LayersModel, rows: number[][]): number[][] {
  return tf.tidy(() => (model.predict(tf.tensor2d(rows)) as Tensor).arraySync() as number[][]);
}

/** The converted-dense fixture's weights (see test/fixtures/models/make_fixtures.py). */
const KERNEL = [
  [0.5, -1.0, 0.25, 0.0],
  [1.0, 0.5, -0.5, 2.0],
  [-0.25, 0.75, 1.0, -1.0],
];
const BIAS = [0.125, -0.5, 0.0, 0.25];
const KERNEL_1 = [
  [1.0, -1.0],
  [0.5, 0.25],
  [-0.75, 1.5],
  [0.0, 0.5],
];
const BIAS_1 = [0.0, 0.5];

/** The fixture model computed by hand: relu(x W + b) W1 + b1, softmax. */
function byHand(x: number[], k: number[][], b: number[], k1: number[][], b1: number[]): number[] {
  const hidden = b.map((bias, j) => Math.max(0, x.reduce((s, xi, i) => s + xi * (k[i]?.[j] ?? NaN), bias)));
  const logits = b1.map((bias, j) => hidden.reduce((s, h, i) => s + h * (k1[i]?.[j] ?? NaN), bias));
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((s, e) => s + e, 0);
  return exps.map((e) => e / sum);
}

describe('saveModelDir / loadModelDir round trip', () => {
  it('writes model.json + one shard in tfjs-core key order and loads back bit-exact', async () => {
    const model = keep(buildModel(tf, { arch: 'mlp', inputShape: [20], units: [16, 8], classes: 3 }, 7));
    const dir = path.join(await tempDir(), 'mlp');
    const info = await saveModelDir(model, dir);

    const files = await readTree(dir);
    expect(Object.keys(files)).toEqual(['group1-shard1of1.bin', 'model.json']);
    const weightBytesTotal = (20 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3) * 4;
    expect(info).toEqual({
      dir,
      files: [
        { name: 'model.json', bytes: files['model.json']?.byteLength },
        { name: 'group1-shard1of1.bin', bytes: weightBytesTotal },
      ],
      shards: ['group1-shard1of1.bin'],
      modelJsonBytes: files['model.json']?.byteLength,
      weightBytes: weightBytesTotal,
      totalBytes: (files['model.json']?.byteLength ?? 0) + weightBytesTotal,
    });

    const text = files['model.json']?.toString('utf8') ?? '';
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest']);
    expect(text).toBe(JSON.stringify(json)); // no whitespace, like tfjs's savers
    expect(json['format']).toBe('layers-model');
    expect(json['generatedBy']).toBe(`TensorFlow.js tfjs-layers v${tf.version['tfjs-layers']}`);
    expect(json['convertedBy']).toBeNull();
    expect(json['weightsManifest']).toEqual([
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'dense1/kernel', shape: [20, 16], dtype: 'float32' },
          { name: 'dense1/bias', shape: [16], dtype: 'float32' },
          { name: 'dense2/kernel', shape: [16, 8], dtype: 'float32' },
          { name: 'dense2/bias', shape: [8], dtype: 'float32' },
          { name: 'dense3/kernel', shape: [8, 3], dtype: 'float32' },
          { name: 'dense3/bias', shape: [3], dtype: 'float32' },
        ],
      },
    ]);

    const loaded = keep(await loadModelDir(dir));
    expect(weightDigests(loaded)).toEqual(weightDigests(model));
    // A path to model.json works as well as the directory.
    expect(weightDigests(keep(await loadModelDir(path.join(dir, 'model.json'))))).toEqual(weightDigests(model));

    // Re-saving the loaded model gives the same bytes, file for file.
    const again = path.join(await tempDir(), 'again');
    await saveModelDir(loaded, again);
    expect(await treeDigests(again)).toEqual(await treeDigests(dir));
  });

  it('writes directories that tfjs’s own loader reads', async () => {
    const model = keep(buildModel(tf, { arch: 'cnn', filters: [4], inputShape: [8, 8, 1], classes: 2 }, 3));
    const dir = path.join(await tempDir(), 'cnn');
    await saveModelDir(model, dir, { shardBytes: 100 });
    const stock = keep(await loadWithStockLoader(tf, dir));
    expect(weightDigests(stock)).toEqual(weightDigests(model));
  });

  it('shards a model over 4 MiB exactly like the converter: 4 MiB shards, remainder last, tensors split', async () => {
    // 784*1400 + 1400 + 1400*10 + 10 = 1,113,010 floats = 4,452,040 bytes.
    const model = keep(buildModel(tf, { arch: 'mlp', units: [1400] }, 1));
    const dir = path.join(await tempDir(), 'big');
    const info = await saveModelDir(model, dir);

    const total = 1_113_010 * 4;
    expect(DEFAULT_SHARD_BYTES).toBe(4_194_304);
    expect(info.shards).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    expect(info.files.slice(1)).toEqual([
      { name: 'group1-shard1of2.bin', bytes: 4_194_304 },
      { name: 'group1-shard2of2.bin', bytes: total - 4_194_304 },
    ]);
    const files = await readTree(dir);
    expect(files['group1-shard1of2.bin']?.byteLength).toBe(4_194_304);
    expect(files['group1-shard2of2.bin']?.byteLength).toBe(total - 4_194_304);
    const json = JSON.parse(files['model.json']?.toString() ?? '') as { weightsManifest: unknown[] };
    expect(json.weightsManifest).toHaveLength(1); // one group, like write_weights

    // The shards are the plain concatenation of all tensors, cut at 4 MiB
    // (dense1/kernel, 4,390,400 bytes, straddles the cut).
    const expected = Buffer.concat(Object.values(weightBytes(model)));
    const written = Buffer.concat([files['group1-shard1of2.bin'] ?? Buffer.alloc(0), files['group1-shard2of2.bin'] ?? Buffer.alloc(0)]);
    expect(written.equals(expected)).toBe(true);

    expect(weightDigests(keep(await loadModelDir(dir)))).toEqual(weightDigests(model));
    expect(weightDigests(keep(await loadWithStockLoader(tf, dir)))).toEqual(weightDigests(model));
  });

  it.each<[string, number, number[]]>([
    ['splits inside a tensor', 100, [100, 4]],
    ['adds no empty shard when the size divides evenly', 52, [52, 52]],
    ['writes one shard when it fits exactly', 104, [104]],
    ['cuts into many small shards', 40, [40, 40, 24]],
  ])('shardBytes: %s', async (_, shardBytes, sizes) => {
    const source = keep(await loadModelDir(path.join(FIXTURES, 'converted-dense')));
    const dir = path.join(await tempDir(), 'sharded');
    const info = await saveModelDir(source, dir, { shardBytes });
    const n = sizes.length;
    expect(info.files.slice(1)).toEqual(sizes.map((bytes, i) => ({ name: `group1-shard${i + 1}of${n}.bin`, bytes })));
    expect(weightDigests(keep(await loadModelDir(dir)))).toEqual(weightDigests(source));
  });

  it('re-saving the converted fixture reproduces the converter’s shard bytes', async () => {
    const source = keep(await loadModelDir(path.join(FIXTURES, 'converted-dense')));
    const dir = path.join(await tempDir(), 'resaved');
    await saveModelDir(source, dir);
    expect(await readFile(path.join(dir, 'group1-shard1of1.bin'))).toEqual(
      await readFile(path.join(FIXTURES, 'converted-dense', 'group1-shard1of1.bin')),
    );
  });

  it('removes shards of an earlier save that the new manifest does not list', async () => {
    const source = keep(await loadModelDir(path.join(FIXTURES, 'converted-dense')));
    const dir = path.join(await tempDir(), 'reused');
    await saveModelDir(source, dir, { shardBytes: 40 });
    await writeFile(path.join(dir, 'meta.json'), '{}');
    await saveModelDir(source, dir);
    expect(Object.keys(await readTree(dir))).toEqual(['group1-shard1of1.bin', 'meta.json', 'model.json']);
  });

  it.each<[unknown, string]>([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    ['4MB', '"4MB"'],
  ])('rejects shardBytes %p', async (shardBytes, shown) => {
    const source = keep(await loadModelDir(path.join(FIXTURES, 'converted-dense')));
    await expect(saveModelDir(source, await tempDir(), { shardBytes: shardBytes as number })).rejects.toThrow(
      new TypeError(`Expected shardBytes to be a positive integer, got ${shown}`),
    );
  });

  it('writes quantized artifacts with the manifest entries in a fixed key order', async () => {
    const artifacts = await readModelArtifacts(path.join(FIXTURES, 'quantized-dense'));
    const dir = path.join(await tempDir(), 'q');
    await writeModelArtifacts(artifacts, dir);
    const fixture = JSON.parse(await readFile(path.join(FIXTURES, 'quantized-dense', 'model.json'), 'utf8')) as {
      weightsManifest: unknown;
    };
    const written = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: unknown };
    expect(JSON.stringify(written.weightsManifest)).toBe(JSON.stringify(fixture.weightsManifest));
    expect(await readFile(path.join(dir, 'group1-shard1of1.bin'))).toEqual(
      await readFile(path.join(FIXTURES, 'quantized-dense', 'group1-shard1of1.bin')),
    );
  });

  it('refuses artifacts whose weightData does not match weightSpecs', async () => {
    const artifacts = await readModelArtifacts(path.join(FIXTURES, 'converted-dense'));
    await expect(
      writeModelArtifacts({ ...artifacts, weightData: new ArrayBuffer(100) }, await tempDir()),
    ).rejects.toThrow(new Error('weightSpecs describe 104 bytes, weightData holds 100'));
  });
});

describe('converter-format fixtures', () => {
  it('loads converted-dense (Keras 2.12 via TensorFlow.js Converter 4.6.0) and predicts what the weights say', async () => {
    const dir = path.join(FIXTURES, 'converted-dense');
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['format', 'generatedBy', 'convertedBy', 'modelTopology', 'weightsManifest']);

    const artifacts = await readModelArtifacts(dir);
    expect(artifacts.format).toBe('layers-model');
    expect(artifacts.generatedBy).toBe('keras v2.12.0');
    expect(artifacts.convertedBy).toBe('TensorFlow.js Converter v4.6.0');
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(104);

    const model = keep(await loadModelDir(dir));
    expect(model.layers.map((l) => l.name)).toEqual(['dense_input', 'dense', 'dense_1']);
    expect(weightValues(model)).toEqual({
      'dense/kernel': KERNEL.flat(),
      'dense/bias': BIAS,
      'dense_1/kernel': KERNEL_1.flat(),
      'dense_1/bias': BIAS_1,
    });

    // x=[1,2,3]: hidden [1.875, 1.75, 2.25, 1.25], logits [1.0625, 3.0625].
    // x=[-1,0,1]: hidden [0, 1.25, 0.75, 0] (relu clips two), logits [0.0625, 1.9375].
    const rows = [
      [1, 2, 3],
      [-1, 0, 1],
    ];
    const out = predict(model, rows);
    expect(out[0]?.[0]).toBeCloseTo(1 / (1 + Math.exp(2)), 6);
    expect(out[1]?.[0]).toBeCloseTo(1 / (1 + Math.exp(1.875)), 6);
    rows.forEach((x, i) => {
      const expected = byHand(x, KERNEL, BIAS, KERNEL_1, BIAS_1);
      expected.forEach((p, j) => expect(out[i]?.[j]).toBeCloseTo(p, 6));
    });
  });

  it('loads quantized-dense (uint8, uint16, float16) and dequantizes like the converter documents', async () => {
    const dir = path.join(FIXTURES, 'quantized-dense');
    const artifacts = await readModelArtifacts(dir);
    expect(artifacts.weightSpecs?.map((s) => s.quantization)).toEqual([
      { dtype: 'uint8', min: -1, scale: 0.011764705882352941, original_dtype: 'float32' },
      { dtype: 'uint16', min: -0.5, scale: 1.1444266422522316e-5, original_dtype: 'float32' },
      { dtype: 'float16', original_dtype: 'float32' },
      { dtype: 'float16', original_dtype: 'float32' },
    ]);
    // 12 uint8 + 4 uint16 + 8 float16 + 2 float16.
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(12 + 8 + 16 + 4);

    // Expected values from the stored integers: value = q * scale + min, as float32.
    const shard = await readFile(path.join(dir, 'group1-shard1of1.bin'));
    const q8 = Array.from(shard.subarray(0, 12));
    const q16 = Array.from({ length: 4 }, (_, i) => shard.readUInt16LE(12 + 2 * i));
    const dequant = (q: number[], scale: number, min: number): number[] => q.map((v) => Math.fround(v * scale + min));
    const kernel = dequant(q8, 0.011764705882352941, -1);
    const bias = dequant(q16, 1.1444266422522316e-5, -0.5);

    const model = keep(await loadModelDir(dir));
    const values = weightValues(model);
    expect(values['dense/kernel']).toEqual(kernel);
    expect(values['dense/bias']).toEqual(bias);
    // float16: exact for multiples of 1/4; 0.1 rounds to the nearest half, 0.0999755859375.
    expect(values['dense_1/kernel']).toEqual(KERNEL_1.flat());
    expect(values['dense_1/bias']).toEqual([0.0999755859375, 0.5]);

    // Each affine value is within half a step of the original weight.
    KERNEL.flat().forEach((w, i) => expect(Math.abs((kernel[i] ?? NaN) - w)).toBeLessThanOrEqual(0.011764705882352941 / 2 + 1e-7));
    BIAS.forEach((w, i) => expect(Math.abs((bias[i] ?? NaN) - w)).toBeLessThanOrEqual(1.1444266422522316e-5 / 2 + 1e-7));
    // Spot values: 0 stays exactly 0 (the nudged zero point), -1 (the min) exact.
    expect(kernel[3]).toBe(0);
    expect(kernel[1]).toBe(-1);

    const out = predict(model, [[1, 2, 3]]);
    const k = [0, 1, 2].map((i) => kernel.slice(i * 4, i * 4 + 4));
    byHand([1, 2, 3], k, bias, KERNEL_1, [0.0999755859375, 0.5]).forEach((p, j) => expect(out[0]?.[j]).toBeCloseTo(p, 6));
  });
});

describe('errors', () => {
  type Case = [
    name: string,
    setup: (dir: string) => Promise<string | void>,
    message: (dir: string) => string,
    file: (dir: string) => string,
  ];
  const modelJson = (dir: string): string => path.join(dir, 'model.json');
  const shard = (dir: string): string => path.join(dir, 'group1-shard1of1.bin');
  const editJson = async (dir: string, edit: (json: Record<string, unknown>) => unknown): Promise<void> => {
    const json = JSON.parse(await readFile(modelJson(dir), 'utf8')) as Record<string, unknown>;
    await writeFile(modelJson(dir), JSON.stringify(edit(json) ?? json));
  };
  const editWeights = (edit: (weights: Record<string, unknown>[]) => void) => (dir: string) =>
    editJson(dir, (json) => {
      const manifest = json['weightsManifest'] as { weights: Record<string, unknown>[] }[];
      edit(manifest[0]?.weights ?? []);
    });

  const cases: Case[] = [
    [
      'a directory without model.json',
      async (dir) => {
        await rm(modelJson(dir));
      },
      (dir) => `${dir}: no model.json (not a tfjs model directory)`,
      (dir) => dir,
    ],
    [
      'a path that does not exist',
      async (dir) => path.join(dir, 'nope'),
      (dir) => `${path.join(dir, 'nope')}: no such file or directory`,
      (dir) => path.join(dir, 'nope'),
    ],
    [
      'model.json that is not JSON',
      async (dir) => {
        await writeFile(modelJson(dir), '{"format": "layers-model",');
      },
      (dir) => `${modelJson(dir)}: not valid JSON (${jsonError('{"format": "layers-model",')})`,
      modelJson,
    ],
    [
      'model.json that is not an object',
      async (dir) => {
        await writeFile(modelJson(dir), '[]');
      },
      (dir) => `${modelJson(dir)}: expected a JSON object, got an array`,
      modelJson,
    ],
    [
      'model.json without modelTopology',
      (dir) =>
        editJson(dir, (json) => {
          delete json['modelTopology'];
        }),
      (dir) => `${modelJson(dir)}: no modelTopology (not a tfjs model.json)`,
      modelJson,
    ],
    [
      'model.json without weightsManifest',
      (dir) =>
        editJson(dir, (json) => {
          delete json['weightsManifest'];
        }),
      (dir) => `${modelJson(dir)}: no weightsManifest (not a tfjs model.json)`,
      modelJson,
    ],
    [
      'a weightsManifest that is not a list',
      (dir) =>
        editJson(dir, (json) => {
          json['weightsManifest'] = { paths: [] };
        }),
      (dir) => `${modelJson(dir)}: weightsManifest must be a list of weight groups, got an object`,
      modelJson,
    ],
    [
      'a group without paths',
      (dir) =>
        editJson(dir, (json) => {
          json['weightsManifest'] = [{ weights: [] }];
        }),
      (dir) => `${modelJson(dir)}: weightsManifest[0].paths must be a list of file names, got undefined`,
      modelJson,
    ],
    [
      'a shard path outside the directory',
      (dir) =>
        editJson(dir, (json) => {
          (json['weightsManifest'] as { paths: string[] }[])[0]!.paths = ['../elsewhere.bin'];
        }),
      (dir) => `${modelJson(dir)}: weightsManifest[0].paths[0] "../elsewhere.bin" points outside the model directory`,
      modelJson,
    ],
    [
      'an unsupported dtype',
      editWeights((w) => {
        w[1]!['dtype'] = 'float64';
      }),
      (dir) =>
        `${modelJson(dir)}: weightsManifest[0].weights[1] ("dense/bias") has unsupported dtype "float64" ` +
        '(expected float32, int32, bool, complex64 or string)',
      modelJson,
    ],
    [
      'an unknown quantization dtype',
      editWeights((w) => {
        w[0]!['quantization'] = { dtype: 'int4' };
      }),
      (dir) =>
        `${modelJson(dir)}: weightsManifest[0].weights[0] ("dense/kernel") has unsupported quantization dtype "int4" ` +
        '(expected uint8, uint16 or float16)',
      modelJson,
    ],
    [
      'uint8 quantization without scale',
      editWeights((w) => {
        w[0]!['quantization'] = { dtype: 'uint8', min: -1 };
      }),
      (dir) =>
        `${modelJson(dir)}: weightsManifest[0].weights[0] ("dense/kernel") quantization uint8 needs a numeric scale, got undefined`,
      modelJson,
    ],
    [
      'a shard listed in the manifest is missing',
      async (dir) => {
        await rm(shard(dir));
      },
      (dir) => `${shard(dir)}: weight shard missing (listed in ${modelJson(dir)})`,
      shard,
    ],
    [
      'a truncated shard',
      async (dir) => {
        await truncate(shard(dir), 100);
      },
      (dir) => `${shard(dir)}: manifest describes 104 bytes, shards hold 100`,
      shard,
    ],
    [
      'a shard longer than the manifest says',
      async (dir) => {
        await appendFile(shard(dir), Buffer.alloc(4));
      },
      (dir) => `${shard(dir)}: manifest describes 104 bytes, shards hold 108`,
      shard,
    ],
    [
      // Issue 14: a shard symlinked to a file outside the model directory was followed.
      'a shard that is a symlink pointing outside the model directory',
      async (dir) => {
        await rename(shard(dir), path.join(path.dirname(dir), 'outside.bin'));
        await symlink(path.join(path.dirname(dir), 'outside.bin'), shard(dir));
      },
      (dir) =>
        `${shard(dir)}: weight shard is a symbolic link to ${path.join(path.dirname(dir), 'outside.bin')}, outside the model directory; ` +
        'copy the file into the model directory',
      shard,
    ],
    [
      'a manifest describing more weights than stored',
      editWeights((w) => {
        w[0]!['shape'] = [3, 5];
      }),
      // dense/kernel [3, 5] instead of [3, 4]: 3 more floats.
      (dir) => `${shard(dir)}: manifest describes 116 bytes, shards hold 104`,
      shard,
    ],
  ];

  it.each(cases)('%s', async (_, setup, message, file) => {
    const dir = await copyFixture(tempDir, 'converted-dense');
    const target = (await setup(dir)) ?? dir;
    const error = await readModelArtifacts(target).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelIOError);
    expect((error as ModelIOError).message).toBe(message(dir));
    expect((error as ModelIOError).file).toBe(file(dir));
    // loadModelDir reports the same.
    await expect(loadModelDir(target)).rejects.toThrow(message(dir));
  });

  it('names the shard range when a multi-shard group is truncated', async () => {
    const source = keep(await loadModelDir(path.join(FIXTURES, 'converted-dense')));
    const dir = path.join(await tempDir(), 'sharded');
    await saveModelDir(source, dir, { shardBytes: 40 });
    await truncate(path.join(dir, 'group1-shard3of3.bin'), 20);
    await expect(readModelArtifacts(dir)).rejects.toThrow(
      new ModelIOError(
        `${path.join(dir, 'group1-shard1of3.bin')} .. group1-shard3of3.bin: manifest describes 104 bytes, shards hold 100`,
        path.join(dir, 'group1-shard3of3.bin'),
      ),
    );
  });

  it('refuses to load a graph model as a layers model', async () => {
    const dir = await copyFixture(tempDir, 'converted-dense');
    await editJson(dir, (json) => {
      json['format'] = 'graph-model';
    });
    await expect(loadModelDir(dir)).rejects.toThrow(`${modelJson(dir)}: format is "graph-model", not a layers model`);
  });

  it('names model.json when tfjs cannot build the topology', async () => {
    const dir = await copyFixture(tempDir, 'converted-dense');
    await editJson(dir, (json) => {
      const topology = json['modelTopology'] as { model_config: { config: { layers: { class_name: string }[] } } };
      topology.model_config.config.layers[1]!.class_name = 'NoSuchLayer';
    });
    const error = await loadModelDir(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelIOError);
    expect((error as ModelIOError).message).toMatch(new RegExp(`^${escape(modelJson(dir))}: .*NoSuchLayer`));
  });

  it('reads an empty weights group of a model without weights', async () => {
    const model = keep(tf.sequential({ name: 'empty', layers: [tf.layers.flatten({ name: 'flat', inputShape: [2, 2] })] }));
    const dir = path.join(await tempDir(), 'empty');
    await mkdir(dir);
    const info = await saveModelDir(model, dir);
    expect(info.shards).toEqual([]);
    expect(Object.keys(await readTree(dir))).toEqual(['model.json']);
    expect((await loadModelDir(dir)).layers).toHaveLength(1);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected invalid JSON');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
