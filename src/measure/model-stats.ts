/**
 * Parameters, non-zeros and MACs of a tfjs LayersModel artifact, per layer
 * and in total: the numbers a compression report puts next to the size.
 *
 * - Parameters: every value the weights manifest stores, trainable or not
 *   (batch-norm moving statistics included: they ship and they load).
 * - Non-zeros: values not exactly 0 after decoding the way tfjs loads them
 *   (quantized uint8/uint16/float16 entries dequantized by the same arithmetic
 *   as tfjs-core's decodeWeights, via src/formats/weight-quantization.ts), so
 *   a pruned-then-quantized model counts its zeros only when they come back
 *   as exact zeros at load time. -0 is a zero; NaN is not.
 * - MACs: from the topology (macs.ts / layer-cost.ts): a property of the
 *   architecture. `effectiveMacs` scales each layer's MACs by the density of
 *   its kernels: what a sparse kernel would execute (Deep Compression's
 *   "FLOP %"). Exact for Dense (every kernel value is used once per
 *   position); for convolutions it treats every kernel value as used at every
 *   output position (true up to padded borders).
 *
 * Weights are matched to layers by name: tfjs and the Keras converter store
 * `${layerName}/${weightName}` (e.g. `conv1/kernel`); the longest layer name
 * that prefixes a weight wins. Weights that match no layer are reported under
 * a pseudo-layer named by their first path segment with unknown MACs.
 */
import type { io } from '@tensorflow/tfjs';
import { readModelArtifacts } from '../engine/model-io.js';
import { decodeFloat32, splitWeights, type StoredWeight } from '../formats/weight-quantization.js';
import type { Shape } from './keras-topology.js';
import { countMacs } from './macs.js';

/** One stored tensor. */
export interface WeightStats {
  /** Manifest name, e.g. 'dense1/kernel'. */
  name: string;
  shape: number[];
  /** The dtype it loads as. */
  dtype: string;
  /** How it is stored: the dtype, or the quantization dtype ('uint8', 'uint16', 'float16'). */
  storedAs: string;
  params: number;
  /** Values that load as non-zero; null for dtypes without a notion of zero here (string, complex64). */
  nonZeros: number | null;
}

export interface LayerStats {
  name: string;
  /** Keras class name; '?' for weights that match no layer of the topology. */
  className: string;
  /** Output shape without the batch dimension; null when unknown. */
  outputShape: Shape | null;
  params: number;
  nonZeros: number;
  /** Dense MACs per example (per sequence for sequence models); null when unknown. */
  macs: number | null;
  /** MACs of one time step for per-step layers (see macs.ts); null for the others. */
  macsPerStep: number | null;
  /** Why `macs` is null for a layer that has a rule (e.g. an unknown time dimension). */
  macsNote?: string;
  /** MACs scaled by kernel density (see above); null when `macs` is. */
  effectiveMacs: number | null;
  weights: WeightStats[];
}

export interface ModelStats {
  /** Declared input shapes without the batch dimension. */
  inputShapes: Shape[];
  /** Layers in execution order (weight-less ones included, with 0 params). */
  layers: LayerStats[];
  params: number;
  nonZeros: number;
  /** params - nonZeros. */
  zeros: number;
  /** zeros / params (0 for a model without parameters). */
  sparsity: number;
  /** Sum of known per-layer MACs per example. */
  macs: number;
  effectiveMacs: number;
  /** False when some layer's MACs are unknown (then the sums are lower bounds). */
  macsComplete: boolean;
  /** Layers whose MACs are unknown. */
  unknownMacs: string[];
}

/**
 * Stats of the model at `path` (a model directory or its model.json).
 * @throws ModelIOError for a missing or malformed artifact (see readModelArtifacts).
 */
export async function modelStats(path: string): Promise<ModelStats> {
  return statsFromArtifacts(await readModelArtifacts(path));
}

/** Stats of in-memory artifacts (e.g. from `readModelArtifacts`, or a save handler). */
export function statsFromArtifacts(artifacts: io.ModelArtifacts): ModelStats {
  const topology = countMacs(artifacts.modelTopology);
  const layers: LayerStats[] = topology.layers.map((l) => ({
    name: l.name,
    className: l.className,
    outputShape: l.outputShape,
    params: 0,
    nonZeros: 0,
    macs: l.macs,
    macsPerStep: l.macsPerStep,
    ...(l.note !== undefined ? { macsNote: l.note } : {}),
    effectiveMacs: null,
    weights: [],
  }));
  const byName = new Map(layers.map((l) => [l.name, l]));
  // Longest first, so `dense_1/kernel` goes to `dense_1`, not to `dense`.
  const names = [...byName.keys()].sort((a, b) => b.length - a.length);

  for (const stored of splitWeights(artifacts)) {
    const weight = weightStats(stored);
    let layer = byName.get(names.find((n) => weight.name.startsWith(`${n}/`)) ?? '');
    if (layer === undefined) {
      const prefix = weight.name.split('/')[0] ?? weight.name;
      layer = byName.get(prefix);
      if (layer === undefined) {
        layer = { name: prefix, className: '?', outputShape: null, params: 0, nonZeros: 0, macs: null, macsPerStep: null, effectiveMacs: null, weights: [] };
        byName.set(prefix, layer);
        layers.push(layer);
      }
    }
    layer.weights.push(weight);
    layer.params += weight.params;
    layer.nonZeros += weight.nonZeros ?? weight.params;
  }

  for (const layer of layers) layer.effectiveMacs = layer.macs === null ? null : Math.round(layer.macs * kernelDensity(layer.weights));
  const params = sum(layers.map((l) => l.params));
  const nonZeros = sum(layers.map((l) => l.nonZeros));
  const unknownMacs = layers.filter((l) => l.macs === null).map((l) => l.name);
  return {
    inputShapes: topology.inputShapes,
    layers,
    params,
    nonZeros,
    zeros: params - nonZeros,
    sparsity: params === 0 ? 0 : (params - nonZeros) / params,
    macs: sum(layers.map((l) => l.macs ?? 0)),
    effectiveMacs: sum(layers.map((l) => l.effectiveMacs ?? 0)),
    macsComplete: unknownMacs.length === 0,
    unknownMacs,
  };
}

/**
 * Kernel weights are what MACs multiply by; biases, BN statistics and the like
 * are not. A recurrent cell's MACs per step are exactly its kernel plus
 * recurrent-kernel sizes, so their pooled density is exact for it too.
 */
const KERNEL_NAME = /(^|\/)(kernel|recurrent_kernel|depthwise_kernel|pointwise_kernel|embeddings)(_\d+)?$/;

/** Non-zero fraction of a layer's kernels; 1 when it has none (nothing to skip). */
function kernelDensity(weights: readonly WeightStats[]): number {
  let total = 0;
  let nonZero = 0;
  for (const w of weights) {
    if (!KERNEL_NAME.test(w.name)) continue;
    total += w.params;
    nonZero += w.nonZeros ?? w.params;
  }
  return total === 0 ? 1 : nonZero / total;
}

function weightStats(stored: StoredWeight): WeightStats {
  const { spec } = stored;
  const params = spec.shape.reduce((a, b) => a * b, 1);
  return {
    name: spec.name,
    shape: [...spec.shape],
    dtype: spec.dtype,
    storedAs: spec.quantization?.dtype ?? spec.dtype,
    params,
    nonZeros: countNonZeros(stored),
  };
}

/** Values that load as non-zero, decoded exactly as tfjs-core's decodeWeights does. */
function countNonZeros(stored: StoredWeight): number | null {
  const { spec, bytes } = stored;
  const q = spec.quantization;
  let values: ArrayLike<number>;
  if (spec.dtype === 'float32') {
    values = decodeFloat32(stored) ?? [];
  } else if (spec.dtype === 'int32' && q && q.dtype !== 'float16' && q.scale !== undefined && q.min !== undefined) {
    // tfjs: Math.round(q * scale + min) into an Int32Array.
    const codes = q.dtype === 'uint8' ? bytes : uint16s(bytes);
    const { scale, min } = q;
    values = Array.from(codes, (c) => Math.round(c * scale + min));
  } else if (spec.dtype === 'int32' && !q) {
    values = new Int32Array(bytes.slice().buffer);
  } else if (spec.dtype === 'bool' && !q) {
    values = bytes;
  } else {
    return null;
  }
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) n++;
  return n;
}

function uint16s(bytes: Uint8Array): Uint16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint16Array.from({ length: bytes.byteLength / 2 }, (_, i) => view.getUint16(i * 2, true));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
