import { BUILTIN_LOADERS, registerBuiltinLoaders } from '../../src/data/builtin.js';
import type { DatasetLoader } from '../../src/data/loader.js';
import { DatasetRegistry, defineLoader, resolveLoaderOptions } from '../../src/data/loader.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { caught, thrownBy, useTempDir } from './helpers.js';

const fake = (over: Partial<DatasetLoader> = {}): DatasetLoader => ({
  name: 'fake',
  version: '1',
  description: 'a test loader',
  schema: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer', default: 3, description: 'n' } } },
  async load(options) {
    return { name: 'fake', x: new Float32Array(0), y: new Int32Array(0), count: 0, shape: [1], classes: 1, fingerprint: `sha256:${JSON.stringify(options)}` };
  },
  async fingerprint(options) {
    return `sha256:${JSON.stringify(options)}`;
  },
  ...over,
});

describe('DatasetRegistry', () => {
  it('registers the built-in loaders, sorted by name', () => {
    const r = new DatasetRegistry();
    registerBuiltinLoaders(r);
    expect(r.names()).toEqual(['csv', 'idx', 'images', 'mnist', 'npy', 'text']);
    expect(r.get('mnist')?.name).toBe('mnist');
    expect(r.sourceOf('csv')).toBe('builtin');
    expect(r.get('nope')).toBeUndefined();
  });

  it('refuses a second loader with the same name, naming both sources', () => {
    const r = new DatasetRegistry();
    registerBuiltinLoaders(r);
    expect(() => r.register(fake({ name: 'csv' }), './my-loaders.mjs')).toThrow(
      './my-loaders.mjs: registers dataset loader `csv`, which is built in; loader names must be unique',
    );
    r.register(fake(), 'pkg-a');
    expect(() => r.register(fake(), 'pkg-b')).toThrow('pkg-b: registers dataset loader `fake`, which is already registered by pkg-a; loader names must be unique');
  });

  it.each<[string, Partial<DatasetLoader>, string]>([
    ['bad name', { name: 'Big Name' }, 'x: Expected loader `Big Name` name to be lowercase letters, digits and dashes, got "Big Name"'],
    ['no version', { version: '' }, 'x: Expected loader `fake` version to be a non-empty string, got ""'],
    ['no load', { load: undefined as never }, 'x: Expected loader `fake` load to be a function, got undefined'],
    ['no fingerprint', { fingerprint: 1 as never }, 'x: Expected loader `fake` fingerprint to be a function, got number'],
    ['no schema', { schema: undefined as never }, 'x: Expected loader `fake` schema to be a JSON Schema object, got undefined'],
  ])('rejects a malformed loader: %s', (_name, over, message) => {
    const err = thrownBy(() => new DatasetRegistry().register(fake(over), 'x'));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(message);
  });

  it('rejects a schema ajv cannot compile', () => {
    expect(() => new DatasetRegistry().register(fake({ schema: { type: 'object', properties: { a: { type: 'nope' } } } }), 'x')).toThrow(
      /^x: the options schema of dataset loader `fake` does not compile: /,
    );
  });

  it('load and fingerprint take a recipe entry and strip `uses`', async () => {
    const r = new DatasetRegistry();
    r.register(fake());
    expect(await r.fingerprint({ uses: 'fake', n: 2 }, { baseDir: '.' })).toBe('sha256:{"n":2}');
    expect((await r.load({ uses: 'fake' }, { baseDir: '.' })).fingerprint).toBe('sha256:{}');
    const err = await caught(() => r.load({ uses: 'mnst' }, { baseDir: '.' }));
    expect(err.message).toBe('unknown dataset loader `mnst`; available: fake');
  });

  it('defineLoader returns the definition unchanged', () => {
    const def = fake();
    expect(defineLoader(def)).toBe(def);
  });
});

describe('resolveLoaderOptions', () => {
  it('fills defaults without touching the caller\'s object', () => {
    const input = {};
    expect(resolveLoaderOptions(fake(), input)).toEqual({ n: 3 });
    expect(input).toEqual({});
  });

  it('names every problem', () => {
    expect(() => resolveLoaderOptions(fake(), { n: 'x', m: 1 })).toThrow(
      new TypeError('Expected valid options for dataset loader `fake`: options has unknown key `m`; n must be integer'),
    );
  });
});

describe('built-in loader schemas', () => {
  // Options whose absence means something ("all records", "largest label + 1", "no split") have no default.
  const NO_DEFAULT: Record<string, string[]> = {
    csv: ['file', 'split', 'classes'],
    idx: ['images', 'labels', 'limit', 'classes'],
    images: ['path', 'list', 'size', 'classes', 'limit'],
    mnist: ['split', 'limit', 'layout'],
    npy: ['x', 'y', 'limit', 'classes'],
    text: ['file', 'split', 'trainFile', 'vocabulary', 'vocabularyFile', 'classNames', 'limit'],
  };

  it.each(BUILTIN_LOADERS.map((l) => [l.name, l] as const))('%s: closed, every option described, defaults where absence is not meaningful', (name, loader) => {
    const schema = loader.schema as { additionalProperties: boolean; properties: Record<string, { description?: string; default?: unknown }> };
    expect(schema.additionalProperties).toBe(false);
    for (const [key, prop] of Object.entries(schema.properties)) {
      expect([key, typeof prop.description]).toEqual([key, 'string']);
      if (!NO_DEFAULT[name]!.includes(key)) expect([key, prop.default !== undefined]).toEqual([key, true]);
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['mnist', {}, 'options must have required property \'split\''],
    ['mnist', { split: 'val' }, 'split must be one of "train", "test"'],
    ['mnist', { split: 'test', limit: 0 }, 'limit must be >= 1'],
    ['csv', { file: 'a.csv', split: { test: 1.5, take: 'test' } }, 'split.test must be < 1'],
    ['csv', { file: 'a.csv', delimiter: '::' }, 'delimiter must NOT have more than 1 characters'],
    ['csv', { file: 'a.csv', header: 'yes' }, 'header must be one of true, false, "auto"'],
    ['npy', { x: 'x.npy', y: 'y.npy', stats: 'train' }, 'stats must be one of "self"'],
    ['images', { path: 'p', size: [8, 8], channels: 4 }, 'channels must be one of 1, 3'],
    ['images', { path: 'p', size: [0, 8] }, 'size.0 must be >= 1'],
    ['images', { size: [8, 8] }, "options must have required property 'path'; options must have required property 'list'; options must match a schema in anyOf"],
  ])('%s rejects %j', (name, options, problem) => {
    const loader = BUILTIN_LOADERS.find((l) => l.name === name)!;
    expect(() => resolveLoaderOptions(loader, options)).toThrow(`Expected valid options for dataset loader \`${name}\`: ${problem}`);
  });
});

describe('registry end to end', () => {
  const tmp = useTempDir();
  it('loads a csv entry relative to baseDir, named after the recipe key', async () => {
    tmp.write('d.csv', 'a,y\n1,0\n2,1\n');
    const r = new DatasetRegistry();
    registerBuiltinLoaders(r);
    const ctx = { baseDir: tmp.dir, name: 'train', hashes: new FileHashCache() };
    const ds = await r.load({ uses: 'csv', file: './d.csv' }, ctx);
    expect(ds).toMatchObject({ name: 'train', count: 2, classes: 2 });
    expect(await r.fingerprint({ uses: 'csv', file: 'd.csv' }, ctx)).toBe(ds.fingerprint);
  });
});
