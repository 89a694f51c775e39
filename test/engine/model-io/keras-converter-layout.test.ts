/**
 * The MobileNetV2 "user's models" written by examples/pretrained/make-model.mjs
 * in tfjs-converter's Keras 2 layout (nested `model_config` of class
 * Functional, every weight affine uint8): stock tfjs loads them from their
 * files alone, and modelpress's loadModelDir loads the same model with the
 * same predictions.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir } from '../../../src/engine/model-io.js';

const DIRS = [
  ['the test fixture', 'test/fixtures/models/mobilenet-tiny', 16],
  ["the examples' user's model", 'examples/pretrained/mobilenet-v2-mnist', 32],
] as const;

interface ModelJson {
  format?: string;
  modelTopology: { keras_version: string; backend: string; model_config: { class_name: string } };
  weightsManifest: { paths: string[]; weights: { name: string; dtype: string; quantization?: { dtype: string; min: number; scale: number } }[] }[];
}

/** What tf.loadLayersModel gets from an http/file loader: model.json and the shards it names, nothing else. */
async function stockLoad(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
  const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))));
  const bytes = Buffer.concat(shards);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as unknown as tf.io.ModelJSON['modelTopology'],
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
}

beforeAll(async () => {
  tf.env().set('PROD', true); // no "use tfjs-node" banner from the cpu backend
  await tf.setBackend('cpu');
});

describe.each(DIRS)('%s (%s)', (_label, rel, size) => {
  const dir = join(process.cwd(), rel);

  test('is in the Keras 2 tfjs-converter layout with uint8 weights', async () => {
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.backend).toBe('tensorflow');
    expect(json.modelTopology.keras_version).toMatch(/^2\./);
    expect(json.modelTopology.model_config.class_name).toBe('Functional');
    const weights = json.weightsManifest.flatMap((g) => g.weights);
    expect(weights.filter((w) => w.quantization?.dtype !== 'uint8').map((w) => w.name)).toEqual([]);
  });

  test('stock tfjs and loadModelDir load it to the same predictions', async () => {
    const stock = await stockLoad(dir);
    const ours = await loadModelDir(dir, { tf });
    expect(stock.inputs[0]!.shape).toEqual([null, size, size, 3]);
    const x = tf.randomUniform([4, size, size, 3], -1, 1, 'float32', 3);
    const a = stock.predict(x) as tf.Tensor;
    const b = ours.predict(x) as tf.Tensor;
    expect(a.shape).toEqual([4, 10]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    stock.dispose();
    ours.dispose();
  });
});
