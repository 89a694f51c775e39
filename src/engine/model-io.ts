/**
 * Reads and writes tfjs LayersModel directories with node:fs: `model.json`
 * plus weight shards `group1-shard{i}of{n}.bin`.
 *
 * Why not `tf.io` URLs: `file://` exists only in tfjs-node, which cannot be
 * installed offline. So saving goes through a save handler and node:fs, and
 * loading through a custom IOHandler that hands tfjs ready-made artifacts.
 *
 * On-disk format (facts from tensorflow/tfjs sources):
 * - model.json keys in the order of tfjs-core's `getModelJSONForModelArtifacts`
 *   (tfjs-core/src/io/io_utils.ts, what tfjs's browser/http savers write):
 *   modelTopology, format, generatedBy, convertedBy, weightsManifest, then the
 *   optional signature, userDefinedMetadata, modelInitializer,
 *   initializerSignature, trainingConfig. Serialised with `JSON.stringify`,
 *   no whitespace, like tfjs-node's `file://` saver (tfjs-node/src/io/
 *   file_system.ts), which writes the same keys.
 * - Weights: the bytes of all tensors concatenated in manifest order, one
 *   group, split into shards of `shardBytes` (default 4 MiB) on plain byte
 *   boundaries (a tensor may straddle two shards), the last shard holding the
 *   rest, named `group1-shard{i}of{n}.bin`: the layout of the Python
 *   converter's `write_weights` (tfjs-converter/python/tensorflowjs/
 *   write_weights.py, shard_size_bytes = 1024 * 1024 * 4). (tfjs-node's saver
 *   writes one `weights.bin` instead; loaders follow the manifest's paths, so
 *   both load everywhere.)
 * - Manifest: `[{paths, weights: [{name, shape, dtype, quantization?}]}]`.
 *   The converter stores quantized weights as `quantization: {dtype: 'uint8' |
 *   'uint16', min, scale}` (value = q * scale + min) or `{dtype: 'float16'}`
 *   with `dtype` the original float32; tfjs-core's `decodeWeights`
 *   dequantizes them on load, so they are passed through untouched.
 *
 * Same artifacts in, same bytes out: no timestamps, fixed key order.
 */
import { mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { LayersModel, io } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

/** Shard size the Python converter uses by default: 4 MiB. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export const MODEL_JSON_FILENAME = 'model.json';

/** A model directory (or one of its files) is missing or malformed. */
export class ModelIOError extends Error {
  override readonly name = 'ModelIOError';
  /** The file (or directory) the problem is in. */
  readonly file: string;

  constructor(message: string, file: string, options?: ErrorOptions) {
    super(message, options);
    this.file = file;
  }
}

export interface SaveModelOptions {
  /**
   * Largest weight shard, in bytes. Default: 4194304 (4 MiB, the Python
   * converter's default). Example: `Number.MAX_SAFE_INTEGER` for one shard.
   */
  shardBytes?: number;
  /** Also save the optimizer's weights and the training config. Default: false. */
  includeOptimizer?: boolean;
}

export interface SavedFile {
  /** File name inside the model directory. */
  name: string;
  bytes: number;
}

export interface SavedModelInfo {
  /** Absolute path of the model directory. */
  dir: string;
  /** model.json first, then the shards in manifest order. */
  files: SavedFile[];
  /** Shard file names in manifest order (empty for a model without weights). */
  shards: string[];
  modelJsonBytes: number;
  weightBytes: number;
  /** modelJsonBytes + weightBytes. */
  totalBytes: number;
}

/**
 * Saves `model` into `dir` (created if needed) as model.json + weight shards.
 * Shards are written first and model.json last, so an interrupted save leaves
 * a directory that does not load. Shard files of an earlier save into the same
 * directory that the new manifest does not list are removed.
 */
export async function saveModelDir(
  model: LayersModel,
  dir: string,
  options: SaveModelOptions = {},
): Promise<SavedModelInfo> {
  const shardBytes = checkShardBytes(options.shardBytes);
  let info: SavedModelInfo | undefined;
  await model.save(
    {
      save: async (artifacts) => {
        info = await writeModelArtifacts(artifacts, dir, { shardBytes });
        return { modelArtifactsInfo: artifactsInfo(artifacts, info) };
      },
    },
    { includeOptimizer: options.includeOptimizer ?? false },
  );
  if (!info) throw new Error('LayersModel.save() returned without calling the save handler');
  return info;
}

/**
 * Writes model artifacts (as a tfjs save handler receives them, or as built by
 * modelpress's own quantizers, whose weightSpecs may carry `quantization`)
 * into `dir`. `saveModelDir` is this plus `model.save`.
 */
export async function writeModelArtifacts(
  artifacts: io.ModelArtifacts,
  dir: string,
  options: Pick<SaveModelOptions, 'shardBytes'> = {},
): Promise<SavedModelInfo> {
  const shardBytes = checkShardBytes(options.shardBytes);
  if (artifacts.modelTopology == null || artifacts.modelTopology instanceof ArrayBuffer) {
    throw new TypeError('Expected artifacts.modelTopology to be a JSON object, got ' + describe(artifacts.modelTopology));
  }
  const specs = (artifacts.weightSpecs ?? []).map(normalizeSpec);
  const data = joinWeightData(artifacts.weightData);
  const described = groupByteLength(specs, data);
  if (described.bytes !== data.byteLength) {
    throw new Error(
      `weightSpecs describe ${described.atLeast ? 'more than ' : ''}${described.bytes} bytes, ` +
        `weightData holds ${data.byteLength}`,
    );
  }

  const count = Math.ceil(data.byteLength / shardBytes);
  const shards = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  const modelJson = modelJsonFor(artifacts, [{ paths: shards, weights: specs }]);
  const text = JSON.stringify(modelJson);

  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  await removeStaleShards(abs, new Set(shards));
  for (const [i, name] of shards.entries()) {
    await writeFile(join(abs, name), data.subarray(i * shardBytes, Math.min((i + 1) * shardBytes, data.byteLength)));
  }
  const jsonBytes = Buffer.byteLength(text, 'utf8');
  await writeFile(join(abs, MODEL_JSON_FILENAME), text, 'utf8');

  const files: SavedFile[] = [
    { name: MODEL_JSON_FILENAME, bytes: jsonBytes },
    ...shards.map((name, i) => ({ name, bytes: Math.min(shardBytes, data.byteLength - i * shardBytes) })),
  ];
  return {
    dir: abs,
    files,
    shards,
    modelJsonBytes: jsonBytes,
    weightBytes: data.byteLength,
    totalBytes: jsonBytes + data.byteLength,
  };
}

/**
 * Reads a model directory (or a path to its model.json) into ModelArtifacts:
 * weightSpecs of all groups in manifest order and weightData as one
 * ArrayBuffer, as tfjs-node's `file://` loader returns them. Quantized
 * entries are returned as stored; tfjs dequantizes them when it loads the
 * artifacts into a model (`tf.io.decodeWeights`).
 *
 * @throws ModelIOError for a missing directory, model.json or shard, a
 *   model.json that is not JSON or lacks modelTopology/weightsManifest, a
 *   malformed manifest, or shards that hold other than the bytes the
 *   manifest describes.
 */
export async function readModelArtifacts(path: string): Promise<io.ModelArtifacts> {
  return (await readModel(path)).artifacts;
}

export interface LoadModelOptions {
  /** The tfjs module to load into (from `loadTf`). Default: '@tensorflow/tfjs', imported on first use. */
  tf?: Tf;
  /** Require the weights to match the layers exactly. Default: true (tfjs's default). */
  strict?: boolean;
}

/** Loads a LayersModel from a model directory or a path to its model.json. */
export async function loadModelDir(path: string, options: LoadModelOptions = {}): Promise<LayersModel> {
  const { artifacts, modelJsonPath } = await readModel(path);
  if (artifacts.format != null && artifacts.format !== 'layers-model') {
    throw new ModelIOError(
      `${modelJsonPath}: format is ${JSON.stringify(artifacts.format)}, not a layers model`,
      modelJsonPath,
    );
  }
  const tf = options.tf ?? (await import('@tensorflow/tfjs'));
  try {
    return await tf.loadLayersModel({ load: async () => artifacts }, { strict: options.strict ?? true });
  } catch (error) {
    throw new ModelIOError(`${modelJsonPath}: ${messageOf(error)}`, modelJsonPath, { cause: error });
  }
}

// ---------------------------------------------------------------------------
// Reading

interface ReadModel {
  artifacts: io.ModelArtifacts;
  modelJsonPath: string;
}

async function readModel(path: string): Promise<ReadModel> {
  const modelJsonPath = await findModelJson(path);
  const dir = dirname(modelJsonPath);
  const json = await readModelJson(modelJsonPath);
  const manifest = checkManifest(json['weightsManifest'], modelJsonPath);

  const specs: io.WeightsManifestEntry[] = [];
  const groups: Uint8Array[] = [];
  for (const group of manifest) {
    const shards: Uint8Array[] = [];
    for (const name of group.paths) shards.push(await readShard(join(dir, name), dir, modelJsonPath));
    const bytes = concatBytes(shards);
    const described = groupByteLength(group.weights, bytes);
    if (described.bytes !== bytes.byteLength || described.atLeast) {
      const first = group.paths[0];
      const last = group.paths[group.paths.length - 1];
      const label =
        first === undefined || last === undefined
          ? `${modelJsonPath} (weightsManifest lists no shards)`
          : first === last
            ? join(dir, first)
            : `${join(dir, first)} .. ${last}`;
      throw new ModelIOError(
        `${label}: manifest describes ${described.atLeast ? 'more than ' : ''}${described.bytes} bytes, ` +
          `shards hold ${bytes.byteLength}`,
        last === undefined ? modelJsonPath : join(dir, last),
      );
    }
    specs.push(...group.weights);
    groups.push(bytes);
  }
  const weightData = concatBytes(groups, true).buffer as ArrayBuffer;

  const artifacts: io.ModelArtifacts = {
    modelTopology: json['modelTopology'] as object,
    format: json['format'] as string | undefined,
    generatedBy: json['generatedBy'] as string | undefined,
    convertedBy: json['convertedBy'] as string | null | undefined,
    weightSpecs: specs,
    weightData,
  };
  for (const key of ['trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature'] as const) {
    if (json[key] != null) (artifacts as Record<string, unknown>)[key] = json[key];
  }
  return { artifacts, modelJsonPath };
}

async function findModelJson(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new ModelIOError(`${path}: no such file or directory`, path, { cause: error });
    throw error;
  }
  if (!info.isDirectory()) return path;
  const modelJsonPath = join(path, MODEL_JSON_FILENAME);
  const json = await stat(modelJsonPath).catch((error: unknown) => {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  });
  if (!json?.isFile()) throw new ModelIOError(`${path}: no model.json (not a tfjs model directory)`, path);
  return modelJsonPath;
}

async function readModelJson(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelIOError(`${path}: not valid JSON (${messageOf(error)})`, path, { cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelIOError(`${path}: expected a JSON object, got ${describe(json)}`, path);
  }
  const record = json as Record<string, unknown>;
  for (const key of ['modelTopology', 'weightsManifest']) {
    if (record[key] == null) throw new ModelIOError(`${path}: no ${key} (not a tfjs model.json)`, path);
  }
  if (typeof record['modelTopology'] !== 'object') {
    throw new ModelIOError(`${path}: modelTopology must be an object, got ${describe(record['modelTopology'])}`, path);
  }
  return record;
}

/**
 * Reads one shard. The manifest's paths are checked to stay inside the model
 * directory, but a shard that is a symlink could still point anywhere (a model
 * directory from an untrusted archive reading /etc/... into the weights); so
 * the real path must stay inside the model directory's real path too.
 */
async function readShard(path: string, dir: string, modelJsonPath: string): Promise<Uint8Array> {
  try {
    const [real, realDir] = await Promise.all([realpath(path), realpath(dir)]);
    if (!real.startsWith(realDir + sep)) {
      throw new ModelIOError(
        `${path}: weight shard is a symbolic link to ${real}, outside the model directory; copy the file into the model directory`,
        path,
      );
    }
    return await readFile(path);
  } catch (error) {
    if (error instanceof ModelIOError) throw error;
    if (isCode(error, 'ENOENT')) {
      throw new ModelIOError(`${path}: weight shard missing (listed in ${modelJsonPath})`, path, { cause: error });
    }
    throw new ModelIOError(`${path}: cannot read weight shard (${messageOf(error)})`, path, { cause: error });
  }
}

// ---------------------------------------------------------------------------
// Manifest checks and byte lengths

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };
/** Strings are stored as a uint32 little-endian byte length, then the bytes. */
const STRING_LENGTH_BYTES = 4;

function checkManifest(value: unknown, file: string): io.WeightsManifestConfig {
  const fail = (where: string, problem: string): never => {
    throw new ModelIOError(`${file}: ${where} ${problem}`, file);
  };
  if (!Array.isArray(value)) return fail('weightsManifest', `must be a list of weight groups, got ${describe(value)}`);
  value.forEach((group: unknown, g) => {
    const at = `weightsManifest[${g}]`;
    if (group === null || typeof group !== 'object') return fail(at, `must be an object, got ${describe(group)}`);
    const { paths, weights } = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
      return fail(`${at}.paths`, `must be a list of file names, got ${describe(paths)}`);
    }
    paths.forEach((p: string, i) => {
      const n = normalize(p);
      if (p === '' || isAbsolute(p) || n === '..' || n.startsWith(`..${sep}`)) {
        fail(`${at}.paths[${i}]`, `${JSON.stringify(p)} points outside the model directory`);
      }
    });
    if (!Array.isArray(weights)) return fail(`${at}.weights`, `must be a list, got ${describe(weights)}`);
    weights.forEach((w: unknown, i) => checkSpec(w, `${at}.weights[${i}]`, fail));
    return undefined;
  });
  return value as io.WeightsManifestConfig;
}

function checkSpec(value: unknown, at: string, fail: (where: string, problem: string) => never): void {
  if (value === null || typeof value !== 'object') fail(at, `must be an object, got ${describe(value)}`);
  const spec = value as Record<string, unknown>;
  if (typeof spec['name'] !== 'string') fail(`${at}.name`, `must be a string, got ${describe(spec['name'])}`);
  const where = `${at} (${JSON.stringify(spec['name'])})`;
  const shape = spec['shape'];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    fail(where, `shape must be a list of non-negative integers, got ${describe(shape)}`);
  }
  const dtype = spec['dtype'];
  if (typeof dtype !== 'string' || (!Object.hasOwn(DTYPE_BYTES, dtype) && dtype !== 'string')) {
    fail(where, `has unsupported dtype ${describe(dtype)} (expected float32, int32, bool, complex64 or string)`);
  }
  const q = spec['quantization'];
  if (q === undefined) return;
  if (q === null || typeof q !== 'object') fail(where, `quantization must be an object, got ${describe(q)}`);
  const qd = (q as Record<string, unknown>)['dtype'];
  if (typeof qd !== 'string' || !Object.hasOwn(QUANTIZED_BYTES, qd)) {
    fail(where, `has unsupported quantization dtype ${describe(qd)} (expected uint8, uint16 or float16)`);
  }
  if (qd === 'float16' ? dtype !== 'float32' : dtype !== 'float32' && dtype !== 'int32') {
    fail(where, `quantization ${qd} cannot hold dtype ${dtype}`);
  }
  if (qd !== 'float16') {
    for (const key of ['min', 'scale']) {
      const v = (q as Record<string, unknown>)[key];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        fail(where, `quantization ${qd} needs a numeric ${key}, got ${describe(v)}`);
      }
    }
  }
}

/**
 * Bytes the specs occupy in `data`. Fixed-size dtypes are counted from the
 * shape; strings are walked through their length prefixes, and when `data`
 * ends inside them the result is a lower bound (`atLeast`).
 */
function groupByteLength(specs: readonly io.WeightsManifestEntry[], data: Uint8Array): { bytes: number; atLeast: boolean } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.quantization) {
      offset += size * (QUANTIZED_BYTES[spec.quantization.dtype] ?? Number.NaN);
    } else if (spec.dtype === 'string') {
      for (let i = 0; i < size; i++) {
        if (offset + STRING_LENGTH_BYTES > data.byteLength) return { bytes: offset + STRING_LENGTH_BYTES, atLeast: true };
        offset += STRING_LENGTH_BYTES + view.getUint32(offset, true);
      }
    } else {
      offset += size * (DTYPE_BYTES[spec.dtype] ?? Number.NaN);
    }
  }
  return { bytes: offset, atLeast: false };
}

// ---------------------------------------------------------------------------
// Writing

function checkShardBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_SHARD_BYTES;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`Expected shardBytes to be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** Same keys, same order as tfjs-core's getModelJSONForModelArtifacts. */
function modelJsonFor(artifacts: io.ModelArtifacts, manifest: io.WeightsManifestConfig): io.ModelJSON {
  const json: io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: manifest,
  };
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature;
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  return json;
}

/**
 * A manifest entry with its keys in a fixed order: name, shape, dtype, group,
 * quantization (dtype, min, scale, then any others as given, e.g. the
 * converter's original_dtype).
 */
function normalizeSpec(spec: io.WeightsManifestEntry): io.WeightsManifestEntry {
  const out: io.WeightsManifestEntry = { name: spec.name, shape: [...spec.shape], dtype: spec.dtype };
  if (spec.group != null) out.group = spec.group;
  // modelpress's per-row quantization extension (src/formats/weight-quantization.ts):
  // tfjs ignores it; the packed writer needs it to store codes instead of floats.
  const rows = (spec as { rowQuantization?: unknown }).rowQuantization;
  if (rows != null) (out as { rowQuantization?: unknown }).rowQuantization = rows;
  if (spec.quantization != null) {
    const { dtype, min, scale, ...rest } = spec.quantization;
    out.quantization = { dtype, ...(min !== undefined ? { min } : {}), ...(scale !== undefined ? { scale } : {}), ...rest };
  }
  return out;
}

function joinWeightData(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return concatBytes((Array.isArray(data) ? data : [data]).map((b) => new Uint8Array(b)));
}

/** Concatenates into a fresh buffer (never a view into Node's shared Buffer pool) when `copy` or more than one part. */
function concatBytes(parts: readonly Uint8Array[], copy = false): Uint8Array {
  if (parts.length === 1 && !copy) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

const SHARD_NAME = /^group\d+-shard\d+of\d+\.bin$/;

async function removeStaleShards(dir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(dir)) {
    if (SHARD_NAME.test(name) && !keep.has(name)) await rm(join(dir, name), { force: true });
  }
}

function artifactsInfo(artifacts: io.ModelArtifacts, info: SavedModelInfo): io.ModelArtifactsInfo {
  return {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology), 'utf8'),
    weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? []), 'utf8'),
    weightDataBytes: info.weightBytes,
  };
}

// ---------------------------------------------------------------------------

function isCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (value instanceof ArrayBuffer) return 'an ArrayBuffer';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return String(value); // NaN, not JSON's "null"
  return JSON.stringify(value) ?? String(value);
}
