/**
 * Built-in stage `export`: the final artifact of a recipe. Copies its
 * upstream model as a stock tfjs model (model.json + the shards its manifest
 * lists) and/or the modelpress packed file (`model.mpk`), with a
 * `model-card.json` (lineage, sizes, params), into its output `model` and,
 * when `to:` is set, into that directory (relative to the recipe).
 *
 * `foldBatchNorm: true` folds BatchNormalization layers into the layers
 * before them (src/formats/fold-batch-norm.ts) in what it exports.
 *
 * `data: <dataset>` also writes what an app needs to feed the model and read
 * its output, taken from that dataset: preprocessing.json and, for text,
 * vocabulary.txt (preprocessing-sidecar.ts). Named, not guessed: the stage
 * sees its upstream model, not which dataset trained it, and a vocabulary
 * from the wrong dataset would ship silently wrong ids.
 *
 * `to:` is written whenever the stage runs; a cache hit does not run it, so
 * does not re-copy (the stage output under the run directory is always there).
 */
import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { readModelArtifacts, writeModelArtifacts } from '../../engine/model-io.js';
import { foldBatchNorm } from '../../formats/fold-batch-norm.js';
import type { FoldReport } from '../../formats/fold-batch-norm.js';
import { packModel } from '../../formats/packed.js';
import { modelStats } from '../../measure/model-stats.js';
import { compressedSizes, measureArtifactSize } from '../../measure/size.js';
import { PACKAGE_VERSION } from '../../package-info.js';
import type { Json } from '../../plugin.js';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import type { StageContext } from '../../stage-definition.js';
import { ONNX_FILENAME, writeOnnxExport } from './export-onnx-file.js';
import { convertForExport, TFLITE_FILENAME, tfliteSchema, verifyForExport } from './export-tflite.js';
import type { TfliteConfig } from './export-tflite.js';
import { preprocessingSidecar } from './preprocessing-sidecar.js';
import type { Sidecar } from './preprocessing-sidecar.js';

export interface ExportConfig {
  format: 'tfjs' | 'packed' | 'both' | 'onnx' | 'tflite';
  tflite: TfliteConfig;
  to?: string;
  allowOutside: boolean;
  overwrite: boolean;
  foldBatchNorm: boolean;
  /** The recipe dataset whose preprocessing (vocabulary, tokenizer, length, class names) ships with the model. */
  data?: string;
}

export const PACKED_FILENAME = 'model.mpk';
export const MODEL_CARD_FILENAME = 'model-card.json';

export const exportSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: {
      enum: ['tfjs', 'packed', 'both', 'onnx', 'tflite'],
      default: 'both',
      description: '`tfjs`: model.json + weight shards (stock tf.loadLayersModel); `packed`: model.mpk (modelpress/loader); `both`; `onnx`: model.onnx (opset 13, NCHW, checked against ONNX Runtime); `tflite`: model.tflite (float32 or full-integer int8, options under `tflite:`; docs/tflite.md).',
    },
    tflite: tfliteSchema,
    data: {
      type: 'string',
      minLength: 1,
      description:
        'The recipe dataset the model was trained on: its preprocessing ships next to the model. Text data: vocabulary.txt (one token per line in id order; `vocabularyFile:` reads it back) and preprocessing.json (tokenizer rule, length, pad and truncate sides, pad and unknown ids, class names); data with class names only (an `images` folder): preprocessing.json with `classNames`. Default: none (nothing is guessed).',
    },
    to: {
      type: 'string',
      minLength: 1,
      description: 'Also write the export into this directory (relative to the recipe; created if missing). Written when the stage runs, not on a cache hit.',
    },
    allowOutside: {
      type: 'boolean',
      default: false,
      description: 'Allow `to:` outside the project: the nearest folder above the recipe holding package.json or .git (the recipe\'s folder when there is none). Off by default, so a typo such as `to: ../../..` cannot write elsewhere.',
    },
    overwrite: {
      type: 'boolean',
      default: false,
      description: 'Allow `to:` to be a non-empty directory (files of the same name are replaced, others are left alone).',
    },
    foldBatchNorm: {
      type: 'boolean',
      default: false,
      description:
        'Fold each inference-mode BatchNormalization into the Conv2D / DepthwiseConv2D / Dense before it (src/formats/fold-batch-norm.ts) in the exported model: fewer layers and parameters, same outputs up to float rounding. BNs that cannot fold stay, listed with the reason in the model card and metrics (`foldBatchNorm.kept`).',
    },
  },
} as const;

export const exportStage = defineStage<ExportConfig>({
  name: 'export',
  // 2-3: packed format v2 (deflated topology): model.mpk changes.
  // 3-4: `format: tflite`.
  // 4-5: `data:` writes preprocessing.json / vocabulary.txt.
  version: '5',
  description: 'Writes the upstream model as a stock tfjs model and/or a packed file, with a model-card.json (and, with `data:`, the training data\'s preprocessing.json / vocabulary.txt), optionally into a directory of your choice.',
  schema: exportSchema,
  outputs: ['model'],
  // `validate` checks the name, and that the dataset's examples fit the model's input.
  datasets: (c) => (c.data !== undefined ? [['data']] : []),
  async run(ctx, config, inputs) {
    const model = inputs.model;
    const source = inputs.upstream.find((u) => u.outputs.model !== undefined);
    if (!model || !source) {
      throw new Error('export needs a model: give the recipe a `model:` (from or build), or put a stage that outputs `model` (e.g. select, prune) in its `needs`');
    }
    // Check `to:` before doing any work.
    const target = config.to !== undefined ? await checkTarget(ctx.recipeDir, config, inputs.upstream.flatMap((u) => Object.values(u.outputs).map((o) => o.dir))) : undefined;
    const sidecar = await sidecarOf(ctx, config.data);

    // Converted before anything is written: an unsupported layer fails here.
    const tflite = config.format === 'tflite' ? await convertForExport(ctx, await ctx.engine.loadModel(model.dir), config.tflite) : undefined;
    const verification = tflite ? await verifyForExport(ctx, tflite, config.tflite) : undefined;

    const dir = await ctx.outputDir('model');
    // With foldBatchNorm, everything below reads the folded model, written to scratch first.
    let sourceDir = model.dir;
    let folded: FoldReport | undefined;
    if (config.foldBatchNorm) {
      const r = foldBatchNorm(await readModelArtifacts(model.dir));
      folded = r.report;
      sourceDir = join(ctx.scratchDir, 'folded');
      await writeModelArtifacts(r.artifacts, sourceDir);
    }
    const size = await measureArtifactSize(sourceDir);
    const packed = await packModel(sourceDir);
    const packedSizes = await compressedSizes(packed.bytes);
    const stats = await modelStats(sourceDir);

    const files: string[] = [];
    if (config.format === 'tfjs' || config.format === 'both') {
      for (const f of size.files) {
        await mkdir(join(dir, f.name, '..'), { recursive: true });
        await copyFile(join(size.dir, f.name), join(dir, f.name));
        files.push(f.name);
      }
    }
    if (config.format === 'packed' || config.format === 'both') {
      await writeFile(join(dir, PACKED_FILENAME), packed.bytes);
      files.push(PACKED_FILENAME);
    }
    let onnxCheck: Json | undefined;
    if (config.format === 'onnx') {
      onnxCheck = await writeOnnxExport(ctx, sourceDir, join(dir, ONNX_FILENAME));
      files.push(ONNX_FILENAME);
    }
    const tfliteBytes: Record<string, number> = {};
    if (tflite) {
      await writeFile(join(dir, TFLITE_FILENAME), tflite.bytes);
      files.push(TFLITE_FILENAME);
      const z = await compressedSizes(tflite.bytes);
      Object.assign(tfliteBytes, { tflite: tflite.bytes.length, tfliteGzip: z.gzip, tfliteFloat32: tflite.floatBytes.length });
    }
    // After the model files, so `files` lists the model first.
    for (const [name, content] of Object.entries(sidecar?.files ?? {})) {
      await writeFile(join(dir, name), content);
      files.push(name);
    }
    const shipped: Json | undefined = sidecar ? { data: config.data!, files: Object.keys(sidecar.files) } : undefined;

    const sizes = {
      raw: size.raw,
      gzip: size.gzip,
      brotli: size.brotli,
      packed: packed.bytes.length,
      packedGzip: packedSizes.gzip,
      packedBrotli: packedSizes.brotli,
      ...tfliteBytes,
    };
    const card: Record<string, Json> = {
      modelpress: PACKAGE_VERSION,
      node: ctx.node,
      stage: ctx.stageId,
      seed: ctx.seed,
      format: config.format,
      ...(tflite ? { tflite: { quantize: config.tflite.quantize, io: config.tflite.io, ops: [...new Set((tflite.int8Graph ?? tflite.floatGraph).ops.map((o) => o.op))], ...(verification !== undefined ? { verification } : {}) } } : {}),
      files,
      source: { node: source.node, stage: source.stage, matrix: source.matrix, digest: model.digest },
      sizeBytes: sizes,
      sizeKb: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, v / 1024])) as Record<string, Json>,
      params: stats.params,
      nonZeros: stats.nonZeros,
      sparsity: stats.sparsity,
      macs: stats.macs,
      effectiveMacs: stats.effectiveMacs,
      inputShapes: stats.inputShapes as unknown as Json,
      layers: stats.layers
        .filter((l) => l.params > 0)
        .map((l) => ({ name: l.name, className: l.className, params: l.params, nonZeros: l.nonZeros })),
      packed: { keptPct: packed.breakdown.keptPct, compressionRatio: packed.breakdown.compressionRatio },
      ...(folded ? { foldBatchNorm: folded as unknown as Json } : {}),
      ...(shipped ? { preprocessing: shipped } : {}),
      lineage: {
        node: ctx.node,
        upstream: inputs.upstream.map((u) => ({
          node: u.node,
          stage: u.stage,
          matrix: u.matrix,
          outputs: Object.fromEntries(Object.entries(u.outputs).map(([k, v]) => [k, v.digest])),
          metrics: u.metrics,
        })),
      },
    };
    // Budget verdicts when the upstream (select, evaluate) reported them.
    const budgets = source.metrics.budgets;
    if (budgets !== undefined) card.budgets = budgets;
    if (source.metrics.verdicts !== undefined) card.verdicts = source.metrics.verdicts;
    const cardText = `${JSON.stringify(card, null, 2)}\n`;
    await writeFile(join(dir, MODEL_CARD_FILENAME), cardText);

    if (target !== undefined) {
      await mkdir(target, { recursive: true });
      for (const f of [...files, MODEL_CARD_FILENAME]) {
        await mkdir(join(target, f, '..'), { recursive: true });
        await copyFile(join(dir, f), join(target, f));
      }
      ctx.logger.info(`export: wrote ${files.length + 1} file(s) to ${target}`);
    }

    const metrics: Record<string, Json> = {
      source: source.node,
      format: config.format,
      files,
      sizeBytes: sizes,
      params: stats.params,
      nonZeros: stats.nonZeros,
    };
    if (verification !== undefined) metrics.tfliteVerification = verification;
    if (config.to !== undefined) metrics.to = config.to;
    if (folded) metrics.foldBatchNorm = folded as unknown as Json;
    if (shipped) metrics.preprocessing = shipped;
    if (onnxCheck !== undefined) metrics.onnxRuntimeCheck = onnxCheck;
    return { outputs: { model: dir }, metrics };
  },
});

/**
 * The sidecar of dataset `data`. A named dataset that carries nothing to
 * ship is a config error (the user asked for something that cannot be
 * written); without `data`, a recipe with text datasets gets a warning,
 * since its export is unusable without the vocabulary.
 */
async function sidecarOf(ctx: StageContext, data: string | undefined): Promise<Sidecar | undefined> {
  if (data === undefined) {
    const text = Object.entries(ctx.recipe.data)
      .filter(([, entry]) => (entry as { uses?: unknown } | null)?.uses === 'text')
      .map(([name]) => name);
    if (text.length > 0) {
      ctx.logger.warn(
        `export: no \`data:\`, so no vocabulary.txt / preprocessing.json is written; an app cannot make this model's input ids without them. Set \`data:\` to the dataset the model was trained on (text datasets here: ${text.join(', ')})`,
      );
    }
    return undefined;
  }
  const sidecar = preprocessingSidecar(await ctx.data(data));
  if (!sidecar) {
    throw new StageConfigError(`\`data\`: dataset \`${data}\` carries no preprocessing to ship (no vocabulary, no class names)`, ['data'], [
      'name a text dataset (its vocabulary and tokenizer ship) or one whose classes have names (an `images` folder), or remove `data:`',
    ]);
  }
  return sidecar;
}

/**
 * Resolves `to` against the recipe directory. Refuses: a place outside the
 * project unless `allowOutside`; any place that is, holds or lies inside an
 * input of this stage (an upstream cache entry: overwriting it would corrupt
 * the cache); a file; a non-empty directory unless `overwrite`.
 */
async function checkTarget(recipeDir: string, config: ExportConfig, inputDirs: string[]): Promise<string> {
  const to = config.to!;
  const target = isAbsolute(to) ? resolve(to) : resolve(recipeDir, to);
  const project = projectRoot(recipeDir);
  if (!config.allowOutside && !within(project, target)) {
    throw new StageConfigError(`\`to\`: ${to} resolves to ${target}, outside the project ${project}`, ['to'], [
      'export inside the project (the folder above the recipe holding package.json or .git), or set `allowOutside: true` to write there on purpose',
    ]);
  }
  for (const dir of inputDirs) {
    const input = resolve(dir);
    if (within(input, target) || within(target, input)) {
      throw new StageConfigError(`\`to\`: ${to} resolves to ${target}, which ${within(input, target) ? 'is inside' : 'holds'} this stage's input ${input}; refusing to write there (it would overwrite a cache entry)`, ['to'], [
        'choose a directory of your project for the export, e.g. `to: dist/model`',
      ]);
    }
  }
  const overwrite = config.overwrite;
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return target;
    throw err;
  }
  if (!info.isDirectory()) throw new StageConfigError(`\`to\`: ${relative(recipeDir, target) || target} exists and is not a directory`, ['to']);
  if (!overwrite && (await readdir(target)).length > 0) {
    throw new StageConfigError(`\`to\`: ${relative(recipeDir, target) || '.'} is not empty; refusing to overwrite it`, ['to'], [
      'set `overwrite: true` to replace the exported files in it (other files are left alone), or choose an empty directory',
    ]);
  }
  return target;
}

/** The nearest folder at or above `dir` holding package.json or .git; `dir` itself when there is none. */
export function projectRoot(dir: string): string {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) || existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return resolve(dir);
  }
}

/** true when `path` is `dir` or inside it. */
function within(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
