import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { StageRegistry } from '../../src/plugin-registry.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { registerBuiltinStages } from '../../src/stages/builtin.js';
import { lines, removeTree, writeTree } from './helpers.js';

/** `rows` CSV rows of `features` values each, labels cycling 0..maxLabel. */
function csv(rows: number, features: number, maxLabel: number): string {
  return Array.from({ length: rows }, (_, r) => [...Array.from({ length: features }, (_, c) => (r + c) % 7), r % (maxLabel + 1)].join(',')).join('\n') + '\n';
}

/** A little-endian .npy file of `shape` (float32 zeros, or uint8 labels `values`). */
function npy(descr: '<f4' | '|u1', shape: number[], values?: number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = `${dict}${' '.repeat(pad)}\n`;
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = descr === '<f4' ? Buffer.alloc(4 * n) : Buffer.from(values ?? new Array(n).fill(0));
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

const HEAD = 'version: 1\nname: shapes\n';

async function validate(files: Record<string, string | Buffer>) {
  const dir = await writeTree(files as Record<string, string>);
  const registry = new StageRegistry();
  registerBuiltinStages(registry);
  const loaders = new DatasetRegistry();
  registerBuiltinLoaders(loaders);
  const r = await loadRecipe('r.yaml', { registry, loaders, cwd: dir });
  return { r, dir };
}

interface Case {
  name: string;
  files: Record<string, string | Buffer>;
  expected: string[];
}

const TRAIN = 'stages:\n  - id: train\n    uses: train\n';

const errors: Case[] = [
  {
    name: 'a sequence arch given flat rows: the builder would refuse the inferred inputShape',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv }\nmodel:\n  build: { arch: lstm, units: [8] }\n${TRAIN}`,
      't.csv': csv(12, 16, 2),
    },
    expected: ['r.yaml:6:10 bad-value: `model.build`: Expected inputShape for lstm to be [time, features] (without embedding), got [16]'],
  },
  {
    name: 'features: 16 per example against an explicit inputShape [784]',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv }\nmodel:\n  build: { arch: mlp, units: [8], inputShape: [784] }\n${TRAIN}`,
      't.csv': csv(12, 16, 2),
    },
    expected: [
      'r.yaml:4:18 shape-mismatch: dataset `train` has 16 features per example but the model stage `train` feeds it to takes [784]: set `model.build.inputShape: [16]` or remove it to infer it from `train`',
    ],
  },
  {
    name: 'images: 32x32x3 against a model built for 28x28x1 (the stage names the dataset)',
    files: {
      'r.yaml': `${HEAD}data:\n  pics: { uses: npy, x: x.npy, y: y.npy }\nmodel:\n  build: { arch: cnn, inputShape: [28, 28, 1], classes: 3 }\nstages:\n  - id: fit\n    uses: train\n    with: { data: pics }\n`,
      'x.npy': npy('<f4', [3, 32, 32, 3]),
      'y.npy': npy('|u1', [3], [0, 1, 2]),
    },
    expected: [
      'r.yaml:10:19 shape-mismatch: dataset `pics` has 32x32x3 images but the model stage `fit` feeds it to takes 28x28x1 images: set `model.build.inputShape: [32, 32, 3]` or remove it to infer it from `pics`',
    ],
  },
  {
    name: 'classes: mnist has 10 classes, the model 3 outputs',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: mnist, split: test, limit: 50, flatten: true }\nmodel:\n  build: { arch: mlp, units: [8], classes: 3 }\n${TRAIN}`,
    },
    expected: [
      'r.yaml:4:18 classes-mismatch: dataset `train` has 10 classes but the model stage `train` feeds it to has 3 outputs: set `model.build.classes: 10` or remove it to infer it from `train`',
    ],
  },
  {
    name: 'classes: a declared `classes: 5` against a model with 3 outputs, located at the declaration',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv, classes: 5 }\nmodel:\n  build: { arch: mlp, units: [8], classes: 3 }\n${TRAIN}`,
      't.csv': csv(12, 4, 2),
    },
    expected: [
      'r.yaml:4:45 classes-mismatch: dataset `train` declares 5 classes but the model stage `train` feeds it to has 3 outputs: set `data.train.classes: 3`, or remove it: it defaults to the model\'s outputs',
    ],
  },
  {
    // Before: training failed in tfjs with a broadcast error, after the run started.
    name: 'labels up to 4 in training data, model with 3 outputs: a DataError with file and row',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv }\nmodel:\n  build: { arch: mlp, units: [8], classes: 3 }\n${TRAIN}`,
      't.csv': csv(12, 4, 4),
    },
    expected: ['r.yaml:4:18 data-error: dataset `train`: t.csv:4:9: label 3 is out of range (expected 0..2)'],
  },
  {
    // Before: evaluation ran and reported a lower accuracy (labels the model cannot output count as wrong).
    name: 'labels up to 5 in evaluation data, model with 3 outputs: an error too',
    files: {
      'r.yaml': `${HEAD}data:\n  test: { uses: csv, file: e.csv }\nmodel:\n  build: { arch: mlp, units: [8], inputShape: [4], classes: 3 }\nstages:\n  - id: eval\n    uses: evaluate\n    with: { data: test }\n`,
      'e.csv': csv(12, 4, 5),
    },
    expected: ['r.yaml:10:19 data-error: dataset `test`: e.csv:4:9: label 3 is out of range (expected 0..2)'],
  },
  {
    name: 'a `from:` model (3 features in, 2 out) against 4-feature data',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv }\nmodel: { from: ${process.cwd()}/test/fixtures/models/converted-dense }\n${TRAIN}`,
      't.csv': csv(12, 4, 1),
    },
    expected: [
      `r.yaml:4:18 shape-mismatch: dataset \`train\` has 4 features per example but the model stage \`train\` feeds it to takes [3]: give \`train\` examples of shape [3], or use a model that takes [4]`,
    ],
  },
  {
    name: 'mnist as stored (28x28x1) against the mobilenet-tiny fixture (16x16x3): the loader\'s size/channels are the fix',
    files: {
      'r.yaml': `${HEAD}data:\n  train: { uses: mnist, split: test, limit: 20 }\nmodel: { from: ${process.cwd()}/test/fixtures/models/mobilenet-tiny }\n${TRAIN}`,
    },
    expected: [
      'r.yaml:4:18 shape-mismatch: dataset `train` has 28x28x1 images but the model stage `train` feeds it to takes 16x16x3 images: give `train` examples of shape [16, 16, 3], or use a model that takes [28, 28, 1]',
    ],
  },
];

describe('validate: shapes and classes of data and models must agree', () => {
  test.each(errors)('$name', async ({ files, expected }) => {
    const { r, dir } = await validate(files);
    try {
      expect(r.ok ? [] : lines(r.diagnostics)).toEqual(expected);
    } finally {
      await removeTree(dir);
    }
  });

  test('a 16-feature CSV and the default mlp: inputShape and classes are inferred, shown in the resolved recipe', async () => {
    const { r, dir } = await validate({
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv }\nmodel:\n  build: { arch: mlp, units: [8] }\n${TRAIN}`,
      't.csv': csv(12, 16, 2),
    });
    try {
      if (!r.ok) throw new Error(lines(r.diagnostics).join('\n'));
      const build = { arch: 'mlp', units: [8], inputShape: [16], classes: 3 };
      expect(r.value.stages[0]!.with.build).toMatchObject(build); // what the model node runs with (and its cache key)
      expect((r.value.resolved.model as any).build).toMatchObject(build); // validate --print, run.json
      expect((r.value.data.train as any).classes).toBe(3);
    } finally {
      await removeTree(dir);
    }
  });

  test("train's own build is inferred from its own dataset", async () => {
    const { r, dir } = await validate({
      'r.yaml': `${HEAD}data:\n  small: { uses: csv, file: t.csv }\nstages:\n  - id: t\n    uses: train\n    with: { data: small, build: { arch: mlp, units: [4] } }\n`,
      't.csv': csv(12, 6, 3),
    });
    try {
      if (!r.ok) throw new Error(lines(r.diagnostics).join('\n'));
      expect(r.value.stages[0]!.with.build).toMatchObject({ inputShape: [6], classes: 4 });
      expect(((r.value.resolved.stages as any)[0].with.build as any).inputShape).toEqual([6]);
    } finally {
      await removeTree(dir);
    }
  });

  test('mnist with `size: [16, 16], channels: 3` fits the mobilenet-tiny fixture: describe() reports the resized shape', async () => {
    const { r, dir } = await validate({
      'r.yaml': `${HEAD}data:\n  train: { uses: mnist, split: test, limit: 20, size: [16, 16], channels: 3, normalize: symmetric }\nmodel: { from: ${process.cwd()}/test/fixtures/models/mobilenet-tiny }\n${TRAIN}`,
    });
    try {
      expect(r.ok ? [] : lines(r.diagnostics)).toEqual([]);
    } finally {
      await removeTree(dir);
    }
  });

  test('a `from:` model with 2 outputs and `classes` unset: the one-hot width is 2 even where only label 0 is present', async () => {
    const { r, dir } = await validate({
      'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: t.csv }\nmodel: { from: ${process.cwd()}/test/fixtures/models/converted-dense }\n${TRAIN}`,
      't.csv': csv(6, 3, 0),
    });
    try {
      if (!r.ok) throw new Error(lines(r.diagnostics).join('\n'));
      expect((r.value.data.train as any).classes).toBe(2);
      const loaders = new DatasetRegistry();
      registerBuiltinLoaders(loaders);
      const ds = await loaders.load(r.value.data.train as any, { baseDir: dir });
      expect(ds.classes).toBe(2);
    } finally {
      await removeTree(dir);
    }
  });
});
