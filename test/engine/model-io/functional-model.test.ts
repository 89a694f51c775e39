/**
 * The functional test fixture (test/helpers/functional-model.ts) on disk:
 * what tfjs's saver writes and what tfjs-converter writes for a Keras 2
 * model (nested `model_config`, no `format`) both load through model-io and
 * through stock tfjs, with the same graph and the same predictions.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { createEngine } from '../../../src/engine/engine.js';
import { functionalInputs, maxRelDiff, saveFunctionalModel, stockLoad } from '../../helpers/functional-model.js';

describe('functional fixture: saved and converter-style', () => {
  let dir: string;
  const engine = createEngine('wasm', 1);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-functional-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('model-io and stock tfjs load both forms; same layers, same predictions', async () => {
    const tf = await engine.tf();
    const { model, saved, converted } = await saveFunctionalModel(engine, dir);
    const json = JSON.parse(await readFile(join(converted, 'model.json'), 'utf8'));
    expect(json.format).toBeUndefined();
    expect(json.modelTopology.model_config.class_name).toBe('Functional');
    const add = json.modelTopology.model_config.config.layers.find((l: any) => l.name === 'block_1_add');
    // Keras 2 list form: one node, two edges [layer, node index, tensor index, kwargs].
    expect(add.inbound_nodes).toEqual([[['Conv1_relu', 0, 0, {}], ['block_1_project_BN', 0, 0, {}]]]);

    const x = tf.tensor(functionalInputs(4), [4, 8, 8, 3]);
    const expected = (model.predict(x) as Tensor).dataSync();
    for (const m of [await engine.loadModel(saved), await engine.loadModel(converted), await stockLoad(tf, saved), await stockLoad(tf, converted)]) {
      expect(m.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
      expect(m.countParams()).toBe(model.countParams());
      expect(maxRelDiff((m.predict(x) as Tensor).dataSync(), expected)).toBe(0);
    }
    expect(model.layers.map((l) => l.getClassName()).sort().filter((c, i, a) => a.indexOf(c) === i)).toEqual([
      'Activation', 'Add', 'BatchNormalization', 'Concatenate', 'Conv2D', 'Dense', 'DepthwiseConv2D', 'Dropout',
      'GlobalAveragePooling2D', 'InputLayer', 'ReLU', 'SeparableConv2D', 'ZeroPadding2D',
    ]);
  });
});
