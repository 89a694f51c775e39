import { trainStage } from '../../src/stages/train/train.js';
import { createHarness } from './harness.js';
import type { Harness } from './harness.js';
import { finetune } from '../../src/stages/training/finetune.js';
import { StageConfigError } from '../../src/plugin.js';
import { compilePattern, selectLayers } from '../../src/stages/training/layer-targeting.js';

describe('stage harness + finetune', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
  });
  afterAll(() => h.cleanup());

  test('train runs in-process and finetune keeps a constraint after every step', async () => {
    const r = await h.run(trainStage, { data: 'train', eval: 'test', epochs: 2, learningRate: 0.01 });
    expect(r.metrics!.accuracy).toBeGreaterThan(60);
    const model = await h.engine.loadModel(r.outputs.model!);
    const tf = await h.engine.tf();
    const kernel = model.getLayer('dense1').getWeights()[0]!;
    const mask = tf.tidy(() => tf.greater(tf.abs(kernel), 0.05).toFloat());
    const layer = model.getLayer('dense1') as unknown as { kernel: { write(t: unknown): void; read(): import('@tensorflow/tfjs').Tensor } };
    let steps = 0;
    const res = await finetune(h.ctx(), model, { data: 'train', epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, momentum: 0.9, schedule: { kind: 'constant' } }, {
      afterStep: () => {
        steps++;
        tf.tidy(() => layer.kernel.write(tf.mul(layer.kernel.read(), mask)));
      },
    });
    expect(res.epochs).toBe(1);
    expect(steps).toBe(Math.ceil(2000 / 64));
    const after = await model.getLayer('dense1').getWeights()[0]!.data();
    const m = await mask.data();
    for (let i = 0; i < m.length; i++) if (m[i] === 0) expect(after[i] === 0).toBe(true);
  });
});

describe('layer targeting', () => {
  test.each([
    ['dense*', ['dense1', 'dense2', 'dense10'], ['conv1']],
    ['dense?', ['dense1', 'dense2'], ['dense10']],
    ['conv[12]', ['conv1', 'conv2'], ['conv3']],
    ['re:^dense[0-9]+$', ['dense1', 'dense10'], ['xdense1x']],
    ['re:ense', ['dense1', 'xdense1x'], ['conv1']],
  ])('%s', (pattern, yes, no) => {
    const m = compilePattern(pattern);
    for (const n of yes) expect(m(n)).toBe(true);
    for (const n of no) expect(m(n)).toBe(false);
  });

  test('settings merge, exclude wins, model order kept', () => {
    const sel = selectLayers(['conv1', 'dense1', 'dense2'], ['conv1', 'pool1', 'dense1', 'dense2'], { s: 0.5, b: 1 }, { layers: { 'dense*': { s: 0.9 }, dense2: { b: 2 } }, exclude: ['dense1'] });
    expect([...sel]).toEqual([['dense2', { s: 0.9, b: 2 }]]);
    expect([...selectLayers(['a', 'b'], ['a', 'b'], { s: 1 }, {})]).toEqual([['a', { s: 1 }], ['b', { s: 1 }]]);
  });

  test('a pattern matching no layer is a StageConfigError naming the layers', () => {
    const err = (() => {
      try {
        selectLayers(['dense1', 'dense2'], ['flatten', 'dense1', 'dense2'], {}, { layers: { dense_3: {} } });
      } catch (e) {
        return e as StageConfigError;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(StageConfigError);
    expect(err.message).toBe('pattern `dense_3` matches no layer of the model');
    expect(err.path).toEqual(['layers', 'dense_3']);
    expect(err.hints).toEqual(['eligible layers: dense1, dense2', 'all layers: flatten, dense1, dense2']);
  });
});
