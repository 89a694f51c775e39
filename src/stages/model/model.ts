/**
 * Built-in stage `model`: the recipe's model as a source node.
 *
 * A recipe's `model: { from | build }` is not an option of `train`: it is the
 * input of every stage that has no upstream model. The planner adds a node
 * `model` that runs this stage with the recipe's `model:` as its config, and
 * makes it the default upstream of the stages that would otherwise start the
 * pipeline, so `quantize`, `prune`, `share`, `evaluate`, `distill` or a
 * plugin stage can come first, and `evaluate` can name `model` as its
 * reference.
 *
 * `from:` copies the user's files verbatim (model.json and the shards its
 * manifest lists), after checking that they load: a model the user shipped
 * uint8-quantized stays byte-for-byte what they have, so "original" sizes in
 * reports are the user's sizes. `build:` builds the architecture with the
 * recipe seed (the same initial weights `train` built before).
 *
 * The stage can also be used by name (`uses: model`, `with: { from: ... }`)
 * to bring a second model into a recipe, e.g. a distillation teacher.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { measureArtifactSize } from '../../measure/size.js';
import type { Json } from '../../plugin.js';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import type { BuildSpec } from '../../engine/builders.js';
import { buildSpecSchema } from '../training/build-schema.js';
import { isOnnxSource } from '../../formats/onnx/onnx-source.js';
import { runOnnxSource } from './model-onnx.js';

export interface ModelSourceConfig {
  /**
   * A tfjs LayersModel directory or model.json, or an ONNX file (`.onnx`, or
   * any file that is not a .json), relative to the recipe.
   */
  from?: string;
  build?: BuildSpec;
}

export const modelSourceSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    from: {
      type: 'string',
      minLength: 1,
      description: 'Directory (or model.json path) of a tfjs LayersModel, relative to the recipe: model.save output or tfjs-converter output of a Keras model; or an ONNX file (torch.onnx.export output, see docs/onnx.md).',
    },
    build: buildSpecSchema('An architecture built by modelpress with seeded initialisation (trained by a `train` stage downstream).'),
  },
} as const;

export const modelSourceStage = defineStage<ModelSourceConfig>({
  name: 'model',
  version: '1',
  description: "The recipe's model (`from:` a tfjs model directory, or `build:` an architecture) as the input of the stages that start the pipeline.",
  schema: modelSourceSchema,
  outputs: ['model'],
  fileInputs: (config) => (config.from !== undefined ? [config.from] : []),
  async run(ctx, config) {
    const dir = await ctx.outputDir('model');
    if (config.from !== undefined) {
      const path = resolve(ctx.recipeDir, config.from);
      if (!(await stat(path).catch(() => undefined))) {
        throw new StageConfigError(`\`from\`: ${config.from} does not exist (resolved to ${path})`, ['from'], [
          'give the directory that holds model.json (tfjs `model.save` or tfjs-converter output), relative to the recipe',
        ]);
      }
      if (await isOnnxSource(path)) return runOnnxSource(ctx, config.from, path, dir);
      // Load first: a model that does not load is refused here, with its path,
      // not two stages later.
      const model = await ctx.engine.loadModel(path);
      const layers = model.layers.length;
      const params = model.countParams();
      const outputShape = model.outputs.map((o) => o.shape as Json);
      const inputShape = model.inputs.map((i) => i.shape as Json);
      model.dispose();
      const size = await measureArtifactSize(path);
      for (const f of size.files) {
        await mkdir(dirname(join(dir, f.name)), { recursive: true });
        await copyFile(join(size.dir, f.name), join(dir, f.name));
      }
      const metrics: Record<string, Json> = {
        source: 'from',
        from: relative(ctx.recipeDir, path) || '.',
        layers,
        params,
        inputShape,
        outputShape,
        sizeBytes: size.raw,
      };
      return { outputs: { model: dir }, metrics };
    }
    const model = await ctx.engine.buildModel(config.build!);
    const metrics: Record<string, Json> = {
      source: 'build',
      arch: config.build!.arch,
      layers: model.layers.length,
      params: model.countParams(),
      inputShape: model.inputs.map((i) => i.shape as Json),
      outputShape: model.outputs.map((o) => o.shape as Json),
    };
    await ctx.engine.saveModel(model, dir);
    model.dispose();
    return { outputs: { model: dir }, metrics };
  },
});
