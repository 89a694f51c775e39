/**
 * One inspector per model format, behind `inspectModel` (inspect-model.ts).
 * An inspector says whether a path is its format and turns it into a
 * ModelReport; adding a format (ONNX, TFLite) is one more entry in
 * `INSPECTORS`, and the CLI does not change.
 *
 * The two formats here both carry a Keras topology, so both end in
 * `kerasReport`; they differ in how the bytes are read and sized:
 * - `tfjs-layers`: a directory with model.json + weight shards (tfjs
 *   `model.save`, modelpress stages, tensorflowjs_converter output), or the
 *   model.json itself. Files and sizes as src/measure/size.ts counts them.
 * - `packed`: a modelpress `.mpk` file (src/formats/packed.ts). One file;
 *   storage is the packed encoding chosen per tensor.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Tf } from '../engine/tf.js';
import { readModelArtifacts } from '../engine/model-io.js';
import { readPacked, unpack } from '../formats/packed.js';
import { ENCODING_NAMES, PACKED_MAGIC, ValueKind } from '../loader/format.js';
import { compressedSizes, measureArtifactSize } from '../measure/size.js';
import { kerasReport } from './keras-report.js';
import type { ModelReport } from './model-report.js';

/** What an inspector is told about the path before it claims it. */
export interface PathInfo {
  path: string;
  isDirectory: boolean;
  /** The first bytes of a file (empty for a directory), for magic numbers. */
  head: Uint8Array;
}

export interface InspectContext {
  /** tfjs to instantiate models with (for the stage checks). */
  tf: () => Promise<Tf>;
}

export interface ModelInspector {
  /** `ModelReport.format`. */
  format: string;
  /** One line for help and errors: what paths this reads. */
  describes: string;
  claims(info: PathInfo): boolean;
  inspect(path: string, ctx: InspectContext): Promise<ModelReport>;
}

export const tfjsLayersInspector: ModelInspector = {
  format: 'tfjs-layers',
  describes: 'a tfjs model directory (model.json + weight shards) or its model.json',
  claims: (info) => info.isDirectory || (info.path.toLowerCase().endsWith('.json') && !startsWith(info.head, PACKED_MAGIC)),
  async inspect(path, ctx) {
    const artifacts = await readModelArtifacts(path);
    // gzip 9 / brotli 11 run in the libuv pool: let them overlap the counting and the tfjs load.
    const sizing = measureArtifactSize(path).then((size) => size.files.map(({ name, raw, gzip, brotli }) => ({ name, raw, gzip, brotli })));
    sizing.catch(() => undefined);
    return kerasReport({ format: 'tfjs-layers', path, artifacts, files: sizing, tf: ctx.tf });
  },
};

const KIND_NAMES = new Map<number, string>(Object.entries(ValueKind).map(([name, kind]) => [kind, name]));

export const packedInspector: ModelInspector = {
  format: 'packed',
  describes: 'a modelpress packed model (.mpk)',
  // The magic decides, not the name: a renamed .mpk is still one.
  claims: (info) => !info.isDirectory && (info.path.toLowerCase().endsWith('.mpk') || startsWith(info.head, PACKED_MAGIC)),
  async inspect(path, ctx) {
    const bytes = new Uint8Array(await readFile(path));
    const contents = readPacked(bytes);
    const storage = new Map(contents.tensors.map((t) => [t.name, `${KIND_NAMES.get(t.kind) ?? '?'} ${ENCODING_NAMES[t.encoding]}`]));
    const artifacts = unpack(bytes);
    const files = compressedSizes(bytes).then((sizes) => [{ name: basename(path), ...sizes }]);
    files.catch(() => undefined);
    return kerasReport({ format: 'packed', path, artifacts, files, storage, tf: ctx.tf });
  },
};

/** In the order they are asked (and named in errors): the first to claim a path reads it. */
export const INSPECTORS: readonly ModelInspector[] = [tfjsLayersInspector, packedInspector];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}
