/**
 * Structured pruning for the `prune` stage: remove whole Dense units and
 * Conv2D filters, physically. The pruned layer gets fewer `units`/`filters`
 * and every tensor indexed by those channels downstream is cut to match, up
 * to the next weighted layer:
 *
 *   conv1 -> bn1 -> pool1 -> conv2         conv2's kernel loses input channels
 *   conv2 -> bn2 -> pool2 -> flatten -> dense1
 *                                          dense1 loses the flattened rows of
 *                                          the removed channels (p·C + c)
 *   dense1 -> dropout1 -> dense2           dense2 loses kernel rows
 *
 * BatchNormalization on the way loses gamma/beta/mean/variance entries. The
 * model is rebuilt from its JSON config with the new widths and loaded with
 * the cut weights, so the output is smaller and faster, not just sparse.
 *
 * Units are ranked by the L1 or L2 norm of their incoming weights (Li et al.
 * 2017, "Pruning Filters for Efficient ConvNets") or by their mean absolute
 * activation over calibration samples (neuron pruning, cf. Hu et al. 2016,
 * "Network Trimming"). Every layer is ranked on the input model's weights
 * (Li et al.'s "independent" strategy), so the order of layers does not
 * change the result.
 *
 * What cannot be cut safely is refused with a StageConfigError naming the
 * layer: the model's output layer, a softmax layer, a path into a layer type
 * this file does not know how to cut, or a graph that branches or merges.
 */
import type { LayersModel, LayerVariable, SymbolicTensor, Tensor, io } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { permutation, seededRandom } from '../../data/dataset.js';
import type { Json, StageContext } from '../../plugin.js';
import { StageConfigError } from '../../stage-definition.js';
import { finetune } from '../training/finetune.js';
import type { PruneConfig } from './prune.js';
import { pruneCount, round6 } from './prune-magnitude.js';
import { layerNames, selectTargets, settingPath } from './prune-targets.js';
import { toTensors } from '../training/train-loop.js';

// ---------------------------------------------------------------------------
// The layer graph, from the model's JSON config

interface GraphNode {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers feeding this one. */
  inputs: string[];
  /** Called on more than one input (a shared layer). */
  shared: boolean;
}

interface LayerGraph {
  nodes: Map<string, GraphNode>;
  consumers: Map<string, string[]>;
  outputs: Set<string>;
  /** The model's JSON config (snake_case, as saved); edited to rebuild. */
  topology: Record<string, unknown>;
  /** Layer configs by name inside `topology`, for editing in place. */
  configs: Map<string, Record<string, unknown>>;
}

const STRUCTURE_HINT = 'structured pruning follows a single chain from the pruned layer through Dropout, Activation, pooling, padding, BatchNormalization and Flatten layers to the next Dense or Conv2D layer';

function graphError(message: string): StageConfigError {
  return new StageConfigError(message, ['method'], [STRUCTURE_HINT]);
}

/** Reads a Sequential or (Keras 2 style) functional model's layer graph. */
export function readGraph(model: LayersModel): LayerGraph {
  // A JSON round trip, not structuredClone: tfjs tells arrays from dicts with
  // `instanceof Array`, which fails for another realm's arrays (jest's vm).
  const json = JSON.parse(JSON.stringify(model.toJSON(null, false))) as Record<string, unknown>;
  const top = (json.model_config ?? json) as Record<string, unknown>;
  const className = top.class_name as string;
  const config = top.config as Record<string, unknown> | unknown[];
  const nodes = new Map<string, GraphNode>();
  const configs = new Map<string, Record<string, unknown>>();
  const outputs = new Set<string>();
  type RawLayer = { class_name: string; name?: string; config: Record<string, unknown>; inbound_nodes?: unknown };
  if (className === 'Sequential') {
    const layers = (Array.isArray(config) ? config : (config.layers as unknown[])) as RawLayer[];
    let prev: string | undefined;
    for (const l of layers) {
      if (l.class_name === 'InputLayer') continue;
      const name = l.config.name as string;
      nodes.set(name, { name, className: l.class_name, config: l.config, inputs: prev ? [prev] : [], shared: false });
      configs.set(name, l.config);
      prev = name;
    }
    if (prev) outputs.add(prev);
  } else if ((className === 'Model' || className === 'Functional') && !Array.isArray(config)) {
    for (const l of config.layers as RawLayer[]) {
      const name = (l.name ?? l.config.name) as string;
      const inbound = (l.inbound_nodes ?? []) as unknown[];
      const inputs: string[] = [];
      for (const node of inbound) {
        if (!Array.isArray(node)) throw graphError(`cannot read the inputs of layer \`${name}\` in the model's graph (not Keras 2 / tfjs JSON)`);
        for (const edge of node) {
          if (!Array.isArray(edge) || typeof edge[0] !== 'string') throw graphError(`cannot read the inputs of layer \`${name}\` in the model's graph (not Keras 2 / tfjs JSON)`);
          inputs.push(edge[0]);
        }
      }
      nodes.set(name, { name, className: l.class_name, config: l.config, inputs, shared: inbound.length > 1 });
      configs.set(name, l.config);
    }
    for (const o of (config.output_layers ?? []) as unknown[]) if (Array.isArray(o) && typeof o[0] === 'string') outputs.add(o[0]);
  } else {
    throw graphError(`structured pruning cannot read a model of class \`${className}\` (expected Sequential or a functional Model)`);
  }
  const consumers = new Map<string, string[]>();
  for (const n of nodes.values()) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.name]);
  return { nodes, consumers, outputs, topology: json, configs };
}

// ---------------------------------------------------------------------------
// Following a pruned layer's channels downstream

/** A tensor downstream of a pruned layer that must be cut with its channels. */
type Consumer =
  | { layer: string; kind: 'batchnorm' }
  | { layer: string; kind: 'dense'; spatial: number }
  | { layer: string; kind: 'conv' };

const PASS_THROUGH = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
  'MaxPooling1D',
  'MaxPooling2D',
  'AveragePooling1D',
  'AveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
]);

/** Eligible layer classes and what they call a channel. */
const PRUNABLE: Record<string, 'units' | 'filters'> = { Dense: 'units', Conv2D: 'filters' };

function channelsLast(n: GraphNode): boolean {
  const f = n.config.data_format;
  return f === undefined || f === null || f === 'channels_last';
}

/**
 * Checks that `name`'s channels can be removed and returns the tensors
 * downstream that must be cut with them. Throws a StageConfigError (at
 * `path`) naming the layer when the structure cannot be cut safely.
 */
export function followChannels(graph: LayerGraph, model: LayersModel, name: string, path: (string | number)[]): Consumer[] {
  const refuse = (message: string) => new StageConfigError(message, path, [STRUCTURE_HINT]);
  const self = graph.nodes.get(name)!;
  const what = PRUNABLE[self.className]!;
  if (graph.outputs.has(name)) {
    throw new StageConfigError(`layer \`${name}\` is the model's output layer: removing its ${what} would change the model's output`, path, [`leave it out, e.g. \`exclude: [${name}]\``]);
  }
  if (self.config.activation === 'softmax') throw refuse(`layer \`${name}\` has a softmax activation: removing ${what} would change the remaining ones' values`);
  if (!channelsLast(self)) throw refuse(`layer \`${name}\` uses data_format channels_first; structured pruning cuts channels_last layers only`);
  if (self.config.groups !== undefined && self.config.groups !== 1) throw refuse(`layer \`${name}\` is a grouped convolution (groups: ${String(self.config.groups)}); structured pruning cannot cut it`);
  if (self.shared) throw refuse(`layer \`${name}\` is shared (called on several inputs); structured pruning cannot follow it`);

  const out: Consumer[] = [];
  let spatial = 1;
  let flattened = false;
  let cur = name;
  for (;;) {
    const next = graph.consumers.get(cur) ?? [];
    if (next.length === 0 || graph.outputs.has(cur)) {
      throw new StageConfigError(`layer \`${name}\` feeds the model's output through \`${cur}\`: removing its ${what} would change the model's output`, path, [`leave it out, e.g. \`exclude: [${name}]\``]);
    }
    if (next.length > 1) throw refuse(`layer \`${cur}\` feeds ${next.length} layers (${next.join(', ')}): structured pruning of \`${name}\` can only follow a single chain`);
    const n = graph.nodes.get(next[0]!)!;
    const via = `layer \`${name}\` feeds \`${n.name}\` (${n.className})`;
    if (n.inputs.length > 1) throw refuse(`${via}, which merges ${n.inputs.length} inputs: structured pruning can only follow a single chain`);
    if (n.shared) throw refuse(`${via}, which is shared (called on several inputs): structured pruning cannot follow it`);
    if (!channelsLast(n)) throw refuse(`${via}, which uses data_format channels_first; structured pruning cuts channels_last layers only`);
    if (PASS_THROUGH.has(n.className)) {
      cur = n.name;
      continue;
    }
    if (n.className === 'BatchNormalization') {
      if (flattened) throw refuse(`${via} after a Flatten, which prune cannot cut to match`);
      const rank = (model.getLayer(n.name).outputShape as number[]).length;
      const axis = Array.isArray(n.config.axis) && n.config.axis.length === 1 ? n.config.axis[0] : n.config.axis;
      if (axis !== -1 && axis !== rank - 1) throw refuse(`${via} normalising axis ${JSON.stringify(n.config.axis)}, not the channel axis; prune cannot cut it to match`);
      out.push({ layer: n.name, kind: 'batchnorm' });
      cur = n.name;
      continue;
    }
    if (n.className === 'Flatten') {
      if (flattened) throw refuse(`${via}, a second Flatten, which prune cannot cut to match`);
      const shape = model.getLayer(cur).outputShape as number[];
      spatial = shape.slice(1, -1).reduce((a, b) => a * b, 1);
      flattened = true;
      cur = n.name;
      continue;
    }
    if (n.className === 'Dense') {
      out.push({ layer: n.name, kind: 'dense', spatial });
      return out;
    }
    if (n.className === 'Conv2D' && !flattened) {
      if (n.config.groups !== undefined && n.config.groups !== 1) throw refuse(`${via}, a grouped convolution, which prune cannot cut to match`);
      out.push({ layer: n.name, kind: 'conv' });
      return out;
    }
    throw refuse(`${via}, which prune cannot cut to match`);
  }
}

// ---------------------------------------------------------------------------
// Ranking units

function weightOf(model: LayersModel, layer: string, suffix: string): LayerVariable | undefined {
  return (model.getLayer(layer).weights as LayerVariable[]).find((w) => w.originalName.endsWith(`/${suffix}`));
}

/** Per output channel: L1 or L2 norm of the incoming weights (the kernel's last axis). */
export function normScores(kernel: Float32Array, channels: number, criterion: 'l1' | 'l2'): Float64Array {
  const s = new Float64Array(channels);
  const l1 = criterion === 'l1';
  for (let i = 0; i < kernel.length; i++) {
    const v = kernel[i]!;
    const c = i % channels;
    s[c] = s[c]! + (l1 ? (v < 0 ? -v : v) : v * v);
  }
  if (criterion === 'l2') for (let c = 0; c < channels; c++) s[c] = Math.sqrt(s[c]!);
  return s;
}

/** Mean |activation| per channel of each layer over `samples` seeded calibration examples. */
async function activationScores(ctx: StageContext, model: LayersModel, layers: string[], data: Dataset, samples: number): Promise<Map<string, Float64Array>> {
  const tf = await ctx.engine.tf();
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => model.getLayer(l).output as SymbolicTensor) });
  const order = permutation(data.count, seededRandom(ctx.seed + 3)).slice(0, Math.min(samples, data.count));
  const sums = layers.map((l) => new Float64Array(channelCount(model, l)));
  const counts = new Array<number>(layers.length).fill(0);
  for (let start = 0; start < order.length; start += 128) {
    ctx.signal.throwIfAborted();
    const { xs, ys } = toTensors(tf, data, order.subarray(start, Math.min(order.length, start + 128)));
    const outs = [probe.predict(xs)].flat() as Tensor[];
    outs.forEach((o, i) => {
      const c = sums[i]!.length;
      const part = tf.tidy(() => tf.abs(o).reshape([-1, c]).sum(0));
      const v = part.dataSync();
      const sum = sums[i]!;
      for (let k = 0; k < c; k++) sum[k] = sum[k]! + v[k]!;
      counts[i] = counts[i]! + o.size / c;
      part.dispose();
    });
    tf.dispose([xs, ys, ...outs]);
  }
  return new Map(layers.map((l, i) => [l, sums[i]!.map((s) => s / Math.max(1, counts[i]!))]));
}

function channelCount(model: LayersModel, layer: string): number {
  const shape = model.getLayer(layer).outputShape as number[];
  return shape[shape.length - 1]!;
}

/** The `k` lowest scores go (ties: lower index first); returns kept and removed indices, ascending. */
export function rankChannels(scores: ArrayLike<number>, k: number): { keep: number[]; removed: number[] } {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[a]! - scores[b]! || a - b);
  const removed = idx.slice(0, k).sort((a, b) => a - b);
  const gone = new Set(removed);
  return { keep: idx.filter((i) => !gone.has(i)).sort((a, b) => a - b), removed };
}

// ---------------------------------------------------------------------------
// Cutting tensors

/** Keeps `keep` (ascending indices) along `axis` of a row-major tensor. */
export function takeAlong(values: Float32Array, shape: readonly number[], axis: number, keep: readonly number[]): { values: Float32Array; shape: number[] } {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const dim = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * keep.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      const from = (o * dim + k) * inner;
      out.set(values.subarray(from, from + inner), at);
      at += inner;
    }
  }
  const next = [...shape];
  next[axis] = keep.length;
  return { values: out, shape: next };
}

/** Rows of a Dense kernel fed by a Flatten of `spatial` positions x `channels` channels (channels_last). */
export function flattenedRows(keep: readonly number[], channels: number, spatial: number): number[] {
  const rows: number[] = [];
  for (let p = 0; p < spatial; p++) for (const c of keep) rows.push(p * channels + c);
  return rows;
}

// ---------------------------------------------------------------------------
// The structured run

export interface StructuredResult {
  model: LayersModel;
  layers: Record<string, Json>;
  summary: Record<string, Json>;
}

export async function pruneStructured(ctx: StageContext, model: LayersModel, config: PruneConfig): Promise<StructuredResult> {
  const tf = await ctx.engine.tf();
  if (config.scope === 'global') {
    throw new StageConfigError('`scope: global` applies to `method: magnitude`; structured pruning removes a fraction of each layer\'s units', ['scope']);
  }
  if (config.schedule) {
    throw new StageConfigError('`schedule` raises sparsity gradually by masking weights; `method: structured` removes units at once (fine-tune the smaller model with `finetune:` instead)', ['schedule']);
  }
  const graph = readGraph(model);
  const all = layerNames(model);
  const eligible = all.filter((n) => PRUNABLE[graph.nodes.get(n)?.className ?? ''] !== undefined);
  let selected = selectTargets(eligible, all, config, 'Dense or Conv2D layers');
  const explicit = config.layers !== undefined && Object.keys(config.layers).length > 0;
  if (!explicit) {
    // Without `layers:`, "every layer" means every layer that can lose units:
    // the output layer never can, so it is not a target rather than an error.
    selected = new Map([...selected].filter(([n]) => !graph.outputs.has(n)));
    if (selected.size === 0) {
      throw new StageConfigError('the model has no hidden Dense or Conv2D layer to prune (the output layer cannot lose units)', config.exclude?.length ? ['exclude'] : [], [`all layers: ${all.join(', ')}`]);
    }
  }

  // Check every structure before any work, so a refusal comes first.
  const plans = new Map<string, { consumers: Consumer[]; channels: number; k: number; what: 'units' | 'filters' }>();
  for (const [name, settings] of selected) {
    const what = PRUNABLE[graph.nodes.get(name)!.className]!;
    const consumers = followChannels(graph, model, name, settingPath(config.layers, name) ?? ['method']);
    const channels = channelCount(model, name);
    const k = pruneCount(settings.sparsity, channels);
    if (k >= channels) {
      throw new StageConfigError(
        `sparsity ${settings.sparsity} would remove all ${channels} ${what} of layer \`${name}\`; at most ${channels - 1} can go`,
        settingPath(config.layers, name, 'sparsity') ?? ['sparsity'],
      );
    }
    plans.set(name, { consumers, channels, k, what });
  }

  const names = [...plans.keys()];
  let scores: Map<string, ArrayLike<number>>;
  if (config.criterion === 'activation') {
    const data = await ctx.data(config.calibration.data);
    scores = await activationScores(ctx, model, names, data, config.calibration.samples);
  } else {
    scores = new Map(names.map((n) => [n, normScores(weightOf(model, n, 'kernel')!.read().dataSync() as Float32Array, plans.get(n)!.channels, config.criterion as 'l1' | 'l2')]));
  }

  // Cuts per weight (by originalName): along which axis, keeping which indices.
  const cuts = new Map<string, { axis: number; keep: number[] }[]>();
  const cut = (layer: string, suffix: string, axis: (rank: number) => number, keep: number[]) => {
    const w = weightOf(model, layer, suffix);
    if (!w) return;
    const list = cuts.get(w.originalName) ?? [];
    list.push({ axis: axis(w.shape.length), keep });
    cuts.set(w.originalName, list);
  };
  const layerMetrics: Record<string, Json> = {};
  for (const [name, plan] of plans) {
    ctx.signal.throwIfAborted();
    const { keep, removed } = rankChannels(scores.get(name)!, plan.k);
    cut(name, 'kernel', (r) => r - 1, keep);
    cut(name, 'bias', () => 0, keep);
    for (const c of plan.consumers) {
      if (c.kind === 'batchnorm') for (const s of ['gamma', 'beta', 'moving_mean', 'moving_variance']) cut(c.layer, s, () => 0, keep);
      else if (c.kind === 'dense') cut(c.layer, 'kernel', () => 0, flattenedRows(keep, plan.channels, c.spatial));
      else cut(c.layer, 'kernel', () => 2, keep);
    }
    graph.configs.get(name)![plan.what] = keep.length;
    const before = plan.what === 'units' ? 'unitsBefore' : 'filtersBefore';
    const after = plan.what === 'units' ? 'unitsAfter' : 'filtersAfter';
    layerMetrics[name] = { [before]: plan.channels, [after]: keep.length, removed };
  }

  // Rebuild: the edited config plus the cut weights, loaded like any artifact.
  const specs: io.WeightsManifestEntry[] = [];
  const parts: Float32Array[] = [];
  for (const w of model.weights) {
    let values: Float32Array = Float32Array.from(w.read().dataSync() as Float32Array);
    let shape = [...w.shape] as number[];
    for (const c of cuts.get(w.originalName) ?? []) ({ values, shape } = takeAlong(values, shape, c.axis, c.keep));
    specs.push({ name: w.originalName, shape, dtype: 'float32' });
    parts.push(values);
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  const artifacts: io.ModelArtifacts = { modelTopology: graph.topology, format: 'layers-model', weightSpecs: specs, weightData: bytes.buffer };
  const pruned = await tf.loadLayersModel({ load: async () => artifacts });

  for (const l of model.layers) {
    const before = l.countParams();
    const after = pruned.getLayer(l.name).countParams();
    if (before === after && !layerMetrics[l.name]) continue;
    layerMetrics[l.name] = { ...((layerMetrics[l.name] as Record<string, Json> | undefined) ?? {}), paramsBefore: before, paramsAfter: after };
  }
  ctx.progress({ done: 1, total: 1, unit: 'prune', message: `${names.length} layers cut` });

  const summary: Record<string, Json> = {
    paramsBefore: model.countParams(),
    paramsAfter: pruned.countParams(),
    macsBefore: macs(model),
    macsAfter: macs(pruned),
  };
  const ft = config.finetune;
  if (ft.epochs > 0) {
    const r = await finetune(ctx, pruned, ft);
    summary.finetune = { epochs: r.epochs, steps: r.steps, losses: r.losses.map(round6) };
  }
  return { model: pruned, layers: layerMetrics, summary };
}

/** Multiply-accumulates per example of the Dense and Conv2D layers: output positions x kernel size. */
export function macs(model: LayersModel): number {
  let n = 0;
  for (const l of model.layers) {
    if (!PRUNABLE[l.getClassName()]) continue;
    const kernel = weightOf(model, l.name, 'kernel');
    if (!kernel) continue;
    const out = l.outputShape as number[];
    n += out.slice(1, -1).reduce((a, b) => a * b, 1) * (kernel.shape as number[]).reduce((a, b) => a * b, 1);
  }
  return n;
}
