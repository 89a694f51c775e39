/**
 * Multi-head self-attention built only from stock, serializable tfjs layers,
 * so a saved transformer loads in stock `tf.loadLayersModel` (no modelpress,
 * no custom layer class).
 *
 * Why not tfjs's own MultiHeadAttention: in @tensorflow/tfjs 4.22 it exists
 * only as source under tfjs-layers/dist/layers/nlp/. The Node bundle
 * (dist/tf-layers.node.js, what `import '@tensorflow/tfjs'` loads) does not
 * contain it, `tf.layers` has no factory for it, and the class name is not in
 * the serialization registry, so a model.json naming `MultiHeadAttention`
 * fails in stock `tf.loadLayersModel` with "Unknown layer:
 * MultiHeadAttention". Plain Node cannot import the ES module file either
 * (its imports have no file extensions); a bundler-style resolver (jest's)
 * can, which registers the class, but then `apply` throws a TypeError
 * ("reading 'length'") in its buildFromSignature, on symbolic and on eager
 * inputs alike: it cannot become part of a LayersModel at all. Pinned by
 * test/engine/builders/attention.test.ts.
 *
 * One head h of block b is eight layers, named so that a head can be found,
 * and removed whole, by name (`headLayerName`):
 *
 *     q = block{b}_head{h}_query  Dense(keyDim)           on x [B, T, d]
 *     k = block{b}_head{h}_key    Dense(keyDim, no bias: see below)
 *     v = block{b}_head{h}_value  Dense(keyDim)
 *     s = block{b}_head{h}_scores Dot(axes [2, 2])(q, k) -> [B, T, T]
 *         (q is pre-scaled by block{b}_head{h}_scale, Rescaling(1/sqrt(keyDim)))
 *     a = block{b}_head{h}_softmax Softmax(axis -1)       over the keys
 *     c = block{b}_head{h}_context Dot(axes [2, 1])(a, v) -> [B, T, keyDim]
 *     o = block{b}_head{h}_output Dense(d)                -> [B, T, d]
 *
 * and the heads' outputs are summed by `block{b}_attention` (Add; absent with
 * one head). Summing per-head output projections is the same function as
 * Keras's concat-then-project (W_o split by rows), but keeps every parameter
 * of a head inside that head's layers: removing a head removes its eight
 * layers and one Add input, and no other layer changes shape. The price is
 * one output bias per head instead of one per block (heads * d extra
 * parameters, 0.2% of the default transformer).
 *
 * No attention mask: the stock Dot layer does not propagate Keras masks, so
 * padding tokens are attended to (the transformer builder refuses maskZero).
 */
import type { SymbolicTensor } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

/** The eight per-head layer roles, in creation order. */
export const HEAD_ROLES = ['query', 'key', 'value', 'scale', 'scores', 'softmax', 'context', 'output'] as const;
export type HeadRole = (typeof HEAD_ROLES)[number];

/** `block{block}_head{head}_{role}`, 1-based like every builder name. */
export function headLayerName(block: number, head: number, role: HeadRole): string {
  return `block${block}_head${head}_${role}`;
}

/** Parses a name made by {@link headLayerName}; undefined for any other layer. */
export function parseHeadLayerName(name: string): { block: number; head: number; role: HeadRole } | undefined {
  const m = /^block(\d+)_head(\d+)_([a-z]+)$/.exec(name);
  if (!m || !(HEAD_ROLES as readonly string[]).includes(m[3]!)) return undefined;
  return { block: Number(m[1]), head: Number(m[2]), role: m[3] as HeadRole };
}

export interface SelfAttentionOptions {
  /** 1-based block number (names). */
  block: number;
  heads: number;
  /** Width of each head's query, key and value. */
  keyDim: number;
  /** Width of x's last axis, and of the output. */
  dimensions: number;
  /** Seeded kernel + zero bias initializers for the next Dense layer (called once per Dense, in order). */
  kernel: () => { kernelInitializer: unknown; biasInitializer: 'zeros' };
}

/** Applies multi-head self-attention to `x` [B, T, dimensions]; returns [B, T, dimensions]. */
export function multiHeadSelfAttention(tf: Tf, x: SymbolicTensor, o: SelfAttentionOptions): SymbolicTensor {
  const dense = (name: string, units: number, input: SymbolicTensor): SymbolicTensor =>
    tf.layers.dense({ name, units, ...(o.kernel() as object) }).apply(input) as SymbolicTensor;
  const outputs: SymbolicTensor[] = [];
  for (let h = 1; h <= o.heads; h++) {
    const name = (role: HeadRole) => headLayerName(o.block, h, role);
    const q = dense(name('query'), o.keyDim, x);
    // No key bias: it adds q·b to every score of a query's row, which the
    // softmax cancels, so its exact gradient is 0. Kept, it would hold float
    // noise that Adam (which normalises the gradient) turns into steps of
    // the full learning rate, and a parameter that cannot matter.
    const k = tf.layers.dense({ name: name('key'), units: o.keyDim, useBias: false, kernelInitializer: o.kernel().kernelInitializer as never }).apply(x) as SymbolicTensor;
    const v = dense(name('value'), o.keyDim, x);
    // Scaled dot-product (Vaswani et al. 2017): without 1/sqrt(keyDim) the
    // softmax saturates as keyDim grows and its gradient vanishes.
    const qs = tf.layers.rescaling({ name: name('scale'), scale: 1 / Math.sqrt(o.keyDim), offset: 0 }).apply(q) as SymbolicTensor;
    const scores = tf.layers.dot({ name: name('scores'), axes: [2, 2] }).apply([qs, k]) as SymbolicTensor;
    const weights = tf.layers.softmax({ name: name('softmax'), axis: -1 }).apply(scores) as SymbolicTensor;
    const context = tf.layers.dot({ name: name('context'), axes: [2, 1] }).apply([weights, v]) as SymbolicTensor;
    outputs.push(dense(name('output'), o.dimensions, context));
  }
  if (outputs.length === 1) return outputs[0]!;
  return tf.layers.add({ name: `block${o.block}_attention` }).apply(outputs) as SymbolicTensor;
}
