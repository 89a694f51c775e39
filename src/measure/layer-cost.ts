/**
 * Output shape and multiply-accumulates (MACs) of one Keras layer call, from
 * its config and input shapes: the per-layer rule behind `countMacs`.
 *
 * What counts as a MAC (one multiply + one add), per inference of one example:
 * - Dense: in x units per position (a Dense on [t, in] runs t times, and
 *   reports in x units as its MACs per step).
 * - ConvND: out positions x kernel volume x in_channels / groups x filters.
 * - DepthwiseConvND: out positions x kernel volume x in_channels x depth_multiplier.
 * - SeparableConvND: the depthwise part plus the 1x1 pointwise part
 *   (out positions x in_channels x depth_multiplier x filters).
 * - ConvNDTranspose: in positions x kernel volume x in_channels x filters
 *   (every input value is scattered through the whole kernel).
 * - Sequence layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed,
 *   Dot): see sequence-cost.ts, which also says what `macsPerStep` is and
 *   what a model with an unknown (None) time dimension reports. Conv1D
 *   reports its MACs per output position as its per-step figure.
 * - Everything else counts 0: biases, activations, pooling (global pooling
 *   over time included), batch and layer normalization (BN folds into the
 *   preceding conv/dense in inference engines; LayerNormalization is a few
 *   elementwise ops per value), merges, reshapes, dropout, embeddings (a
 *   lookup: vocabulary x dim parameters, 0 MACs). These are
 *   memory-bound and small next to the layers above, and excluding them is
 *   the usual convention (Deep Compression, MobileNet papers), so the numbers
 *   compare with published ones.
 * - Layers without a rule here (ConvLSTM2D, the generic RNN wrapper, Keras's
 *   MultiHeadAttention, custom layers) give
 *   `{outputShape: null, macs: null}`: unknown, never silently 0.
 *
 * Output-shape arithmetic follows Keras `conv_utils.conv_output_length` /
 * `deconv_output_length` (which tfjs-layers mirrors), for channels_last and
 * channels_first.
 */
import type { Shape } from './keras-topology.js';
import { bidirectionalCost, dotCost, perStepCost, RECURRENT_GATES, recurrentCost, timeDistributedCost } from './sequence-cost.js';

export interface LayerCost {
  /** Output shape without the batch dimension, or null when it cannot be inferred. */
  outputShape: Shape | null;
  /** MACs of this call for one example (a whole sequence), or null when unknown. */
  macs: number | null;
  /**
   * For layers that repeat the same work at every time step (recurrent
   * cells, TimeDistributed, Dense on [T, in], Conv1D): the MACs of one step.
   * Known even when the number of steps is not.
   */
  macsPerStep?: number;
  /** Why `macs` is null although the layer has a rule (e.g. an unknown time dimension). */
  note?: string;
}

const UNKNOWN: LayerCost = { outputShape: null, macs: null };

/** Layers that keep their input's shape and cost no MACs. */
const SHAPE_PRESERVING = new Set([
  'Activation', 'ActivityRegularization', 'AlphaDropout', 'BatchNormalization', 'Dropout', 'ELU',
  'GaussianDropout', 'GaussianNoise', 'LayerNormalization', 'LeakyReLU', 'Masking', 'Normalization',
  'PReLU', 'ReLU', 'Rescaling', 'Softmax', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D',
  'ThresholdedReLU', 'UnitNormalization',
]);

/** Elementwise merges: output = the (broadcast) input shape; no MACs. */
const ELEMENTWISE_MERGE = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);

/** Spatial rank of the conv / pool classes, by name suffix. */
function spatialRank(className: string): 1 | 2 | 3 | undefined {
  const m = /([123])D(?:Transpose)?$/.exec(className);
  return m ? (Number(m[1]) as 1 | 2 | 3) : undefined;
}

/**
 * The cost of one call of `className` with `config` on `inputs` (one shape per
 * inbound tensor; empty for an input layer, whose `declared` shape is used).
 */
export function layerCost(className: string, config: Record<string, unknown>, inputs: readonly (Shape | null)[], declared?: Shape): LayerCost {
  if (className === 'InputLayer') return { outputShape: declared ?? null, macs: 0 };
  // A Sequential's first layer may have no inbound call but a declared input.
  const list = inputs.length === 0 && declared ? [declared] : inputs;
  if (ELEMENTWISE_MERGE.has(className)) return { outputShape: list.every((s) => s !== null) ? broadcast(list as Shape[]) : null, macs: 0 };
  if (className === 'Concatenate') return concatenate(config, list);
  if (className === 'Dot') return dotCost(config, list);
  const input = list[0];
  if (list.length !== 1 || input === undefined || input === null) return UNKNOWN;
  return single(className, config, input);
}

function single(cls: string, cfg: Record<string, unknown>, input: Shape): LayerCost {
  if (SHAPE_PRESERVING.has(cls)) return { outputShape: [...input], macs: 0 };
  if (RECURRENT_GATES[cls] !== undefined) return recurrentCost(cls, cfg, input);
  if (cls === 'Bidirectional') return bidirectionalCost(cfg, input, single);
  if (cls === 'TimeDistributed') return timeDistributedCost(cfg, input, single);
  const rank = spatialRank(cls);
  switch (cls) {
    case 'Dense': {
      const units = int(cfg['units']);
      const last = input[input.length - 1];
      if (units === undefined || input.length === 0) return UNKNOWN;
      const outputShape = [...input.slice(0, -1), units];
      if (last === null || last === undefined) return { outputShape, macs: null };
      if (input.length === 1) return { outputShape, macs: last * units };
      // On [T, ..., in]: applied at every step (the first axis is time).
      const perStep = product(input.slice(1, -1));
      if (perStep === null) return { outputShape, macs: null };
      return perStepCost(outputShape, input[0]!, perStep * last * units);
    }
    case 'Flatten':
      return { outputShape: [product(input)], macs: 0 };
    case 'Reshape':
      return { outputShape: reshape(input, cfg['target_shape']), macs: 0 };
    case 'Permute': {
      const dims = Array.isArray(cfg['dims']) ? cfg['dims'].map((d) => int(d)) : [];
      if (dims.length !== input.length || dims.some((d) => d === undefined || d < 1 || d > input.length)) return UNKNOWN;
      return { outputShape: dims.map((d) => input[(d as number) - 1] ?? null), macs: 0 };
    }
    case 'RepeatVector': {
      const n = int(cfg['n']);
      return n === undefined ? UNKNOWN : { outputShape: [n, ...input], macs: 0 };
    }
    case 'Embedding': {
      const outDim = int(cfg['output_dim']);
      return outDim === undefined ? UNKNOWN : { outputShape: [...input, outDim], macs: 0 };
    }
  }
  if (rank !== undefined) {
    if (/^(Conv|DepthwiseConv|SeparableConv)\dD(Transpose)?$/.test(cls)) return convolution(cls, cfg, input, rank);
    if (/^(Max|Average)Pooling\dD$/.test(cls)) return pooling(cfg, input, rank);
    if (/^Global(Max|Average)Pooling\dD$/.test(cls)) {
      const layout = splitChannels(input, rank, cfg);
      if (!layout) return UNKNOWN;
      const keep = cfg['keepdims'] === true;
      const ones = Array<number>(rank).fill(1);
      return { outputShape: keep ? layout.join(ones, layout.channels) : [layout.channels], macs: 0 };
    }
    if (/^ZeroPadding\dD$/.test(cls)) return resize(cfg, input, rank, 'padding', (n, [a, b]) => n + a + b);
    if (/^Cropping\dD$/.test(cls)) return resize(cfg, input, rank, 'cropping', (n, [a, b]) => n - a - b);
    if (/^UpSampling\dD$/.test(cls)) {
      const size = tuple(cfg['size'] ?? 2, rank);
      const layout = splitChannels(input, rank, cfg);
      if (!size || !layout) return UNKNOWN;
      return { outputShape: layout.join(layout.spatial.map((n, i) => mul(n, size[i]!)), layout.channels), macs: 0 };
    }
  }
  return UNKNOWN;
}

function convolution(cls: string, cfg: Record<string, unknown>, input: Shape, rank: 1 | 2 | 3): LayerCost {
  const kernel = tuple(cfg['kernel_size'], rank);
  const strides = tuple(cfg['strides'] ?? 1, rank);
  const dilation = tuple(cfg['dilation_rate'] ?? 1, rank);
  const padding = typeof cfg['padding'] === 'string' ? cfg['padding'] : 'valid';
  const layout = splitChannels(input, rank, cfg);
  if (!kernel || !strides || !dilation || !layout || layout.channels === null) return UNKNOWN;
  const cin = layout.channels;
  const kernelVolume = kernel.reduce((a, b) => a * b, 1);

  if (cls.endsWith('Transpose')) {
    const filters = int(cfg['filters']);
    const outputPadding = cfg['output_padding'] == null ? null : tuple(cfg['output_padding'], rank);
    if (filters === undefined || outputPadding === undefined) return UNKNOWN;
    const spatial = layout.spatial.map((n, i) =>
      deconvLength(n, kernel[i]!, padding, outputPadding === null ? null : outputPadding[i]!, strides[i]!, dilation[i]!),
    );
    const inPositions = product(layout.spatial);
    return { outputShape: layout.join(spatial, filters), macs: inPositions === null ? null : inPositions * kernelVolume * cin * filters };
  }

  const spatial = layout.spatial.map((n, i) => convLength(n, kernel[i]!, padding, strides[i]!, dilation[i]!));
  if (spatial.some((n) => n !== null && n <= 0)) return UNKNOWN;
  const positions = product(spatial);
  const known = (macs: number): number | null => (positions === null ? null : positions * macs);
  // Conv1D over a sequence: the work per output position is the per-step
  // figure, known even for an unknown (None) length.
  const cost = (outputShape: Shape, perPosition: number): LayerCost =>
    rank === 1 ? perStepCost(outputShape, spatial[0]!, perPosition) : { outputShape, macs: known(perPosition) };

  if (cls.startsWith('DepthwiseConv')) {
    const m = int(cfg['depth_multiplier'] ?? 1);
    if (m === undefined) return UNKNOWN;
    return cost(layout.join(spatial, cin * m), kernelVolume * cin * m);
  }
  const filters = int(cfg['filters']);
  if (filters === undefined) return UNKNOWN;
  if (cls.startsWith('SeparableConv')) {
    const m = int(cfg['depth_multiplier'] ?? 1);
    if (m === undefined) return UNKNOWN;
    return cost(layout.join(spatial, filters), kernelVolume * cin * m + cin * m * filters);
  }
  const groups = int(cfg['groups'] ?? 1);
  if (groups === undefined || cin % groups !== 0) return UNKNOWN;
  return cost(layout.join(spatial, filters), kernelVolume * (cin / groups) * filters);
}

function pooling(cfg: Record<string, unknown>, input: Shape, rank: 1 | 2 | 3): LayerCost {
  const pool = tuple(cfg['pool_size'] ?? 2, rank);
  const strides = cfg['strides'] == null ? pool : tuple(cfg['strides'], rank);
  const padding = typeof cfg['padding'] === 'string' ? cfg['padding'] : 'valid';
  const layout = splitChannels(input, rank, cfg);
  if (!pool || !strides || !layout) return UNKNOWN;
  const spatial = layout.spatial.map((n, i) => convLength(n, pool[i]!, padding, strides[i]!, 1));
  return { outputShape: layout.join(spatial, layout.channels), macs: 0 };
}

/** ZeroPadding / Cropping: `key` is an int, a per-dimension tuple, or per-dimension [before, after] pairs. */
function resize(
  cfg: Record<string, unknown>,
  input: Shape,
  rank: 1 | 2 | 3,
  key: string,
  apply: (n: number, amounts: [number, number]) => number,
): LayerCost {
  const raw = cfg[key] ?? (key === 'padding' ? 1 : 0);
  const layout = splitChannels(input, rank, cfg);
  if (!layout) return UNKNOWN;
  let pairs: [number, number][] | undefined;
  if (typeof raw === 'number') pairs = Array.from({ length: rank }, () => [raw, raw]);
  else if (Array.isArray(raw) && raw.length === rank) {
    pairs = raw.map((p): [number, number] => (Array.isArray(p) ? [Number(p[0]), Number(p[1])] : [Number(p), Number(p)]));
  } else if (Array.isArray(raw) && rank === 1 && raw.length === 2) {
    pairs = [[Number(raw[0]), Number(raw[1])]];
  }
  if (!pairs || pairs.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b))) return UNKNOWN;
  const spatial = layout.spatial.map((n, i) => (n === null ? null : apply(n, pairs![i]!)));
  return { outputShape: layout.join(spatial, layout.channels), macs: 0 };
}

function concatenate(cfg: Record<string, unknown>, inputs: readonly (Shape | null)[]): LayerCost {
  if (inputs.length === 0 || inputs.some((s) => s === null)) return UNKNOWN;
  const shapes = inputs as Shape[];
  const rank = shapes[0]!.length;
  // Keras axes count the batch dimension: axis 1 is the first non-batch one.
  const axis = int(cfg['axis'] ?? -1, true);
  if (axis === undefined) return UNKNOWN;
  const a = axis < 0 ? rank + axis : axis - 1;
  if (a < 0 || a >= rank || shapes.some((s) => s.length !== rank)) return UNKNOWN;
  const out = [...shapes[0]!];
  let total: number | null = 0;
  for (const s of shapes) total = total === null || s[a] === null || s[a] === undefined ? null : total + s[a]!;
  out[a] = total;
  return { outputShape: out, macs: 0 };
}

// ---------------------------------------------------------------------------
// Shape arithmetic (Keras conv_utils)

/** Keras conv_output_length. */
export function convLength(input: number | null, kernel: number, padding: string, stride: number, dilation: number): number | null {
  if (input === null) return null;
  const k = kernel + (kernel - 1) * (dilation - 1);
  let length: number;
  if (padding === 'same' || padding === 'causal') length = input;
  else if (padding === 'valid') length = input - k + 1;
  else if (padding === 'full') length = input + k - 1;
  else return null;
  return Math.floor((length + stride - 1) / stride);
}

/** Keras deconv_output_length. */
export function deconvLength(
  input: number | null,
  kernel: number,
  padding: string,
  outputPadding: number | null,
  stride: number,
  dilation: number,
): number | null {
  if (input === null) return null;
  const k = kernel + (kernel - 1) * (dilation - 1);
  if (outputPadding === null) {
    if (padding === 'valid') return input * stride + Math.max(k - stride, 0);
    if (padding === 'full') return input * stride - (stride + k - 2);
    if (padding === 'same') return input * stride;
    return null;
  }
  const pad = padding === 'same' ? Math.floor(k / 2) : padding === 'valid' ? 0 : padding === 'full' ? k - 1 : Number.NaN;
  if (Number.isNaN(pad)) return null;
  return (input - 1) * stride + k - 2 * pad + outputPadding;
}

interface ChannelLayout {
  spatial: Shape;
  channels: number | null;
  /** Rebuilds a shape in the same data format. */
  join(spatial: Shape, channels: number | null): Shape;
}

/** Splits an image-like shape into spatial dims and channels, honouring `data_format`. */
function splitChannels(input: Shape, rank: number, cfg: Record<string, unknown>): ChannelLayout | undefined {
  if (input.length !== rank + 1) return undefined;
  const first = cfg['data_format'] === 'channels_first';
  return first
    ? { spatial: input.slice(1), channels: input[0] ?? null, join: (s, c) => [c, ...s] }
    : { spatial: input.slice(0, -1), channels: input[rank] ?? null, join: (s, c) => [...s, c] };
}

function reshape(input: Shape, target: unknown): Shape | null {
  if (!Array.isArray(target)) return null;
  const dims = target.map((d) => (typeof d === 'number' ? d : Number.NaN));
  if (dims.some((d) => !Number.isInteger(d))) return null;
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown === 0) return dims;
  const total = product(input);
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  if (unknown > 1 || total === null || known === 0) return dims.map((d) => (d === -1 ? null : d));
  return dims.map((d) => (d === -1 ? total / known : d));
}

function broadcast(shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d: number | null = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === null) d = null;
      else if (d !== null && v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/** Product of dims, or null when one is unknown. */
function product(dims: Shape): number | null {
  let p = 1;
  for (const d of dims) {
    if (d === null) return null;
    p *= d;
  }
  return p;
}

function mul(n: number | null, k: number): number | null {
  return n === null ? null : n * k;
}

/** An int, or a 1..rank tuple of ints, as an array of `rank` positive ints. */
function tuple(v: unknown, rank: number): number[] | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? Array<number>(rank).fill(v) : undefined;
  if (Array.isArray(v) && v.length === rank && v.every((x) => Number.isInteger(x) && (x as number) >= 0)) return v as number[];
  return undefined;
}

function int(v: unknown, allowNegative = false): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && (allowNegative || v >= 1) ? v : undefined;
}
