/**
 * The size of a tfjs model artifact, counted the way it ships.
 *
 * What counts: model.json plus every shard its weightsManifest names, and
 * nothing else in the directory (meta.json, reports and stray files are not
 * downloaded by `tf.loadLayersModel`). Pruned weights stay float32 zeros in
 * the stock format, so the raw size of a 90%-sparse model is unchanged; what
 * a browser actually receives is the compressed transfer size, hence gzip and
 * brotli next to raw.
 *
 * How: each file is compressed on its own and the results are summed, because
 * a web server sends (and compresses) every file as a separate response;
 * compressing a tarball of all files would share one dictionary across them
 * and under-count. Settings are the strongest a static-file host would use
 * when pre-compressing: gzip level 9, brotli quality 11 in generic mode with
 * the input size as size hint (`brotli_static` / `gzip_static`, or a build
 * step writing `.gz`/`.br` next to the files). The compressors run through
 * node:zlib's async API, in the libuv thread pool, so measuring a large model
 * does not block the event loop.
 *
 * Sizes are bytes; `kb()` converts to the recipe budget unit (1 KB = 1024 bytes).
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { MODEL_JSON_FILENAME, ModelIOError } from '../engine/model-io.js';

/** Bytes per KB in budgets (`size_kb`): 1024, as tools showing model sizes mostly mean. */
export const BYTES_PER_KB = 1024;

/** gzip level used for the transfer size: 9, the smallest output. */
export const GZIP_LEVEL = 9;

/** brotli quality used for the transfer size: 11, the smallest output. */
export const BROTLI_QUALITY = 11;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** One payload's size, raw and compressed, in bytes. */
export interface CompressedSizes {
  raw: number;
  gzip: number;
  brotli: number;
}

/** One file of the artifact. */
export interface FileSize extends CompressedSizes {
  /** The file name relative to the model directory, as the manifest spells it. */
  name: string;
  kind: 'model-json' | 'weights';
}

/** The size of a model artifact: totals (summed per file) and the breakdown. */
export interface ArtifactSize extends CompressedSizes {
  /** Directory holding model.json. */
  dir: string;
  /** model.json first, then shards in manifest order. */
  files: FileSize[];
  /** model.json alone (topology + manifest). */
  modelJson: CompressedSizes;
  /** All weight shards together (each compressed on its own, then summed). */
  weights: CompressedSizes;
}

/** `bytes` in KB (1024 bytes), unrounded: the unit of `size_kb` budgets. */
export function kb(bytes: number): number {
  return bytes / BYTES_PER_KB;
}

/** Raw, gzip (level 9) and brotli (quality 11, size hint) byte counts of one payload. */
export async function compressedSizes(data: Uint8Array): Promise<CompressedSizes> {
  const [gz, br] = await Promise.all([
    gzipAsync(data, { level: GZIP_LEVEL }),
    brotliAsync(data, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_GENERIC,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
      },
    }),
  ]);
  return { raw: data.byteLength, gzip: gz.byteLength, brotli: br.byteLength };
}

/**
 * Measures the tfjs model at `path` (a model directory or its model.json).
 *
 * @throws ModelIOError when the directory, model.json or a listed shard is
 *   missing, model.json is not JSON, or the manifest is malformed or names a
 *   file outside the directory.
 */
export async function measureArtifactSize(path: string): Promise<ArtifactSize> {
  const modelJsonPath = await modelJsonOf(path);
  const dir = dirname(modelJsonPath);
  const jsonBytes = await readFile(modelJsonPath);
  const shards = shardNames(jsonBytes, modelJsonPath);

  const files: FileSize[] = [{ name: MODEL_JSON_FILENAME, kind: 'model-json', ...(await compressedSizes(jsonBytes)) }];
  // One shard at a time: only one shard's bytes (up to 4 MiB by default) in memory.
  for (const name of shards) {
    const bytes = await readShard(join(dir, name), modelJsonPath);
    files.push({ name, kind: 'weights', ...(await compressedSizes(bytes)) });
  }
  const modelJson = sum(files.filter((f) => f.kind === 'model-json'));
  const weights = sum(files.filter((f) => f.kind === 'weights'));
  return { dir, ...sum(files), files, modelJson, weights };
}

function sum(parts: readonly CompressedSizes[]): CompressedSizes {
  const out: CompressedSizes = { raw: 0, gzip: 0, brotli: 0 };
  for (const p of parts) {
    out.raw += p.raw;
    out.gzip += p.gzip;
    out.brotli += p.brotli;
  }
  return out;
}

async function modelJsonOf(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') throw new ModelIOError(`${path}: no such file or directory`, path, { cause: error });
    throw error;
  }
  if (!info.isDirectory()) return path;
  const file = join(path, MODEL_JSON_FILENAME);
  const json = await stat(file).catch(() => undefined);
  if (!json?.isFile()) throw new ModelIOError(`${path}: no model.json (not a tfjs model directory)`, path);
  return file;
}

/**
 * The shard file names of every weight group, in manifest order, each once.
 * Only the paths are checked here: whether the shards hold the bytes the
 * manifest describes is model-io's business (a size is still meaningful).
 */
function shardNames(jsonBytes: Buffer, file: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(jsonBytes.toString('utf8'));
  } catch (error) {
    throw new ModelIOError(`${file}: not valid JSON (${messageOf(error)})`, file, { cause: error });
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelIOError(`${file}: no weightsManifest (not a tfjs model.json)`, file);
  const names: string[] = [];
  manifest.forEach((group: unknown, g) => {
    const paths = (group as { paths?: unknown } | null)?.paths;
    if (!Array.isArray(paths) || !paths.every((p): p is string => typeof p === 'string')) {
      throw new ModelIOError(`${file}: weightsManifest[${g}].paths must be a list of file names`, file);
    }
    for (const p of paths) {
      const n = normalize(p);
      if (p === '' || isAbsolute(p) || n === '..' || n.startsWith(`..${sep}`)) {
        throw new ModelIOError(`${file}: weightsManifest[${g}].paths: ${JSON.stringify(p)} points outside the model directory`, file);
      }
      if (!names.includes(p)) names.push(p);
    }
  });
  return names;
}

async function readShard(path: string, modelJsonPath: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') {
      throw new ModelIOError(`${path}: weight shard missing (listed in ${modelJsonPath})`, path, { cause: error });
    }
    throw new ModelIOError(`${path}: cannot read weight shard (${messageOf(error)})`, path, { cause: error });
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
