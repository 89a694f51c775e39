/**
 * Why the transformer builds attention from stock layers (src/engine/attention.ts):
 * tfjs 4.22's MultiHeadAttention cannot be saved and reloaded with stock
 * tfjs. If a tfjs upgrade makes any of these fail, revisit attention.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { HEAD_ROLES, headLayerName, parseHeadLayerName } from '../../../src/engine/attention.js';

// The cpu backend prints a "use tfjs-node" banner unless PROD is set.
beforeAll(() => void tf.env().set('PROD', true));

describe("tfjs 4.22's MultiHeadAttention", () => {
  it('has no tf.layers factory and no registered class (the Node bundle leaves out layers/nlp)', () => {
    expect((tf.layers as Record<string, unknown>).multiHeadAttention).toBeUndefined();
    const registered = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(Object.keys(registered).filter((n) => /MultiHeadAttention|EinsumDense|PositionEmbedding/.test(n))).toEqual([]);
    // The layers attention.ts uses instead are all registered.
    for (const name of ['Dense', 'Dot', 'Softmax', 'Rescaling', 'Add', 'LayerNormalization', 'Embedding', 'Reshape', 'GlobalAveragePooling1D']) {
      expect([name, name in registered]).toEqual([name, true]);
    }
  });

  it('a model.json naming it does not load in stock tf.loadLayersModel', async () => {
    const topology = {
      class_name: 'Model',
      config: {
        name: 'm',
        layers: [
          { class_name: 'InputLayer', name: 'x', config: { batch_input_shape: [null, 4, 8], dtype: 'float32', name: 'x' }, inbound_nodes: [] },
          { class_name: 'MultiHeadAttention', name: 'mha', config: { name: 'mha', num_heads: 2, key_dim: 4 }, inbound_nodes: [[['x', 0, 0, {}], ['x', 0, 0, {}]]] },
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['mha', 0, 0]],
      },
    };
    await expect(tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology }))).rejects.toThrow(/Unknown layer: MultiHeadAttention/);
  });

  it('imported from its ES module source, it registers but cannot be applied, symbolically or eagerly', async () => {
    // Plain Node refuses this import (the file's own imports have no
    // extensions); jest's resolver, like a bundler's, accepts it.
    const file = '@tensorflow/tfjs-layers/dist/layers/nlp/multihead_attention.js';
    const { MultiHeadAttention } = (await import(file)) as { MultiHeadAttention: new (args: object) => tf.layers.Layer };
    expect('MultiHeadAttention' in tf.serialization.SerializationMap.getMap().classNameMap).toBe(true);
    const symbolic = tf.input({ shape: [5, 8] });
    expect(() => new MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply(symbolic, { value: symbolic })).toThrow(/reading 'length'/);
    const eager = tf.ones([2, 5, 8]);
    expect(() => new MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply(eager, { value: eager })).toThrow(/reading 'length'/);
    eager.dispose();
  });
});

describe('head layer names', () => {
  it('round-trip, and other names are not heads', () => {
    for (const role of HEAD_ROLES) expect(parseHeadLayerName(headLayerName(2, 3, role))).toEqual({ block: 2, head: 3, role });
    for (const name of ['block1_attention', 'block1_ffn1', 'dense1', 'block1_head1_bias']) expect(parseHeadLayerName(name)).toBeUndefined();
  });
});
