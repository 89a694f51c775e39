/**
 * Structured pruning for the `prune` stage: remove whole Dense units,
 * Conv2D and SeparableConv2D filters, physically. The pruned layer gets
 * fewer `units`/`filters` and every tensor indexed by those channels
 * downstream is cut to match, wherever the graph takes them:
 *
 *   conv1 -> bn1 -> pool1 -> conv2         conv2's kernel loses input channels
 *   conv2 -> bn2 -> pool2 -> flatten -> dense1
 *                                          dense1 loses the flattened rows of
 *                                          the removed channels (p·C + c)
 *   x -> expand -> bn -> relu6 -> depthwise -> bn -> project -> bn -> add(x, ·)
 *                                          the depthwise kernel and both BNs
 *                                          lose expand's channels; `add` ties
 *                                          x's producer and `project` into one
 *                                          group, removed together
 *   concat(a, b) -> separable              a channel c of b is offset + c in
 *                                          the separable's depthwise and
 *                                          pointwise kernels
 *
 * Which channels travel where, and which layers' channels are tied by a
 * merge, is prune-channels.ts (a union-find over channels). BatchNormalization
 * on the way loses gamma/beta/mean/variance entries. The model is rebuilt
 * from its JSON config with the new widths and loaded with the cut weights,
 * so the output is smaller and faster, not just sparse.
 *
 * Units are ranked by the L1 or L2 norm of their incoming weights (Li et al.
 * 2017, "Pruning Filters for Efficient ConvNets") or by their mean absolute
 * activation over calibration samples (neuron pruning, cf. Hu et al. 2016,
 * "Network Trimming"); a group's channel scores the sum over its members.
 * Every layer is ranked on the input model's weights (Li et al.'s
 * "independent" strategy), so the order of layers does not change the result.
 *
 * What cannot be cut safely is refused with a StageConfigError naming the
 * layer: the model's output layer, a softmax layer, channels that reach the
 * output or a layer this file does not know how to cut (Reshape,
 * LayerNormalization, a shared layer, a merge of mismatched widths), and a
 * group only partly targeted.
 */
import type { LayersModel, LayerVariable, SymbolicTensor, Tensor, io } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { permutation, seededRandom } from '../../data/dataset.js';
import type { Json, StageContext } from '../../plugin.js';
import { StageConfigError } from '../../stage-definition.js';
import { finetune } from '../training/finetune.js';
import type { PruneConfig } from './prune.js';
import { pruneCount, round6 } from './prune-magnitude.js';
import type { PruneLayerSettings } from './prune-targets.js';
import { layerNames, selectTargets, settingPath } from './prune-targets.js';
import { toTensors } from '../training/train-loop.js';
import { checkpoint } from '../training/abort-checkpoint.js';
import type { ChannelFlow, GraphNode, LayerGraph } from './prune-channels.js';
import { PRUNABLE, traceChannels } from './prune-channels.js';
import { RECURRENT_GATES, isRecurrent, recurrentNormScores, recurrentUnitCuts } from './prune-recurrent-units.js';
import { findAttentionBlocks, headNorm, planHeadRemoval, removeHeads } from './prune-attention-heads.js';
import { headLayerName, parseHeadLayerName } from '../../engine/attention.js';
import type { Tf } from '../../engine/tf.js';
import { countMacs } from '../../measure/macs.js';

// ---------------------------------------------------------------------------
// The layer graph, from the model's JSON config

const STRUCTURE_HINT = 'structured pruning follows channels through Dropout, Activation, pooling, padding, BatchNormalization, DepthwiseConv2D, Flatten, Add-like merges and Concatenate to the next Dense, Conv2D, SeparableConv2D, SimpleRNN, LSTM or GRU layer';

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

function channelsLast(n: GraphNode): boolean {
  const f = n.config.data_format;
  return f === undefined || f === null || f === 'channels_last';
}

/** The checks on a targeted layer itself (before where its channels go). */
export function checkTarget(graph: LayerGraph, name: string, path: (string | number)[]): void {
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
    await checkpoint(ctx.signal);
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

/** One set of source layers whose channels are tied by merges, pruned together. */
interface Group {
  /** Source layers, in model order. */
  members: string[];
  /** Union-find roots of the group's channels (its units), in order of first appearance. */
  units: number[];
  /** Units to remove. */
  k: number;
  what: 'units' | 'filters';
}

/** The weight holding a source layer's output channels on its last axis. */
function outputKernel(model: LayersModel, layer: string): LayerVariable {
  return (weightOf(model, layer, 'kernel') ?? weightOf(model, layer, 'pointwise_kernel'))!;
}

/**
 * Groups the targeted layers by shared channels and checks each group before
 * any work (model order, so the first problem is the one reported).
 */
function planGroups(graph: LayerGraph, model: LayersModel, flow: ChannelFlow, selected: Map<string, PruneLayerSettings>, config: PruneConfig, explicit: boolean): { groups: Group[]; skipped: string[][] } {
  // Source layers whose channels share a root are one group.
  const byRoot = new Map<number, string[]>();
  for (const [layer, els] of flow.sources) {
    for (const e of els) {
      const list = byRoot.get(flow.find(e)) ?? [];
      if (!list.includes(layer)) list.push(layer);
      byRoot.set(flow.find(e), list);
    }
  }
  const order = layerNames(model);
  const groupOf = new Map<string, Set<string>>();
  for (const layers of byRoot.values()) {
    const merged = new Set<string>(layers);
    for (const l of layers) for (const m of groupOf.get(l) ?? []) merged.add(m);
    for (const l of merged) groupOf.set(l, merged);
  }
  const groups: Group[] = [];
  const skipped: string[][] = [];
  const seen = new Set<string>();
  for (const [name, settings] of selected) {
    if (seen.has(name)) continue;
    const members = order.filter((l) => groupOf.get(name)?.has(l) ?? l === name);
    for (const m of members) seen.add(m);
    const what = PRUNABLE[graph.nodes.get(name)!.className]!;
    const path = settingPath(config.layers, name) ?? ['method'];
    const left = members.filter((m) => !selected.has(m));
    if (left.length > 0) {
      if (!explicit) {
        skipped.push(members);
        continue;
      }
      const met = (flow.meetings.get(flow.find(flow.sources.get(name)![0]!)) ?? []).map((m) => `\`${m}\``).join(', ');
      throw new StageConfigError(
        `layer \`${name}\` shares its ${what} with ${left.map((m) => `\`${m}\``).join(', ')} (they meet at ${met}): they can only be pruned together`,
        path,
        [`target all of ${members.join(', ')} in \`layers:\`, or none of them`],
      );
    }
    for (const m of members) checkTarget(graph, m, settingPath(config.layers, m) ?? ['method']);
    const els = members.flatMap((m) => flow.sources.get(m)!);
    const pinned = flow.pinOf(els);
    if (pinned) throw new StageConfigError(pinned(name, what), path, [STRUCTURE_HINT]);
    const sparsity = settings.sparsity;
    for (const m of members) {
      if (selected.get(m)!.sparsity !== sparsity) {
        throw new StageConfigError(
          `layers \`${name}\` and \`${m}\` share their channels and are pruned together, so they need one sparsity (got ${sparsity} and ${selected.get(m)!.sparsity})`,
          settingPath(config.layers, m, 'sparsity') ?? ['sparsity'],
        );
      }
    }
    const units = [...new Set(els.map((e) => flow.find(e)))];
    const k = pruneCount(sparsity, units.length);
    if (k >= units.length) {
      const of = members.length === 1 ? `layer \`${name}\`` : `the group of ${members.map((m) => `\`${m}\``).join(', ')}`;
      throw new StageConfigError(
        `sparsity ${sparsity} would remove all ${units.length} ${what} of ${of}; at most ${units.length - 1} can go`,
        settingPath(config.layers, name, 'sparsity') ?? ['sparsity'],
      );
    }
    groups.push({ members, units, k, what });
  }
  return { groups, skipped };
}

export async function pruneStructured(ctx: StageContext, model: LayersModel, config: PruneConfig): Promise<StructuredResult> {
  if (config.scope === 'global') {
    throw new StageConfigError('`scope: global` applies to `method: magnitude`; structured pruning removes a fraction of each layer\'s units', ['scope']);
  }
  if (config.schedule) {
    throw new StageConfigError('`schedule` raises sparsity gradually by masking weights; `method: structured` removes units at once (fine-tune the smaller model with `finetune:` instead)', ['schedule']);
  }
  const explicit = config.layers !== undefined && Object.keys(config.layers).length > 0;
  // With `heads:` and no `layers:`, only heads go: a transformer's other
  // Dense layers mostly feed residual Adds and LayerNormalization, which
  // unit pruning refuses, so "every layer" would be a refusal, not a default.
  const units = config.heads === undefined || explicit;
  const layerMetrics: Record<string, Json> = {};
  const summary: Record<string, Json> = {};
  let current = model;
  if (config.heads !== undefined) {
    const r = await pruneHeads(ctx, current, config.heads, config);
    current = r.model;
    summary.heads = r.heads;
  }
  if (units) {
    const r = await pruneUnits(ctx, current, config, explicit);
    if (current !== model) current.dispose();
    current = r.model;
    for (const [name, m] of Object.entries(r.layers)) layerMetrics[name] = m;
    Object.assign(summary, r.summary);
  }
  const pruned = current;
  for (const l of model.layers) {
    const before = l.countParams();
    const after = pruned.layers.some((p) => p.name === l.name) ? pruned.getLayer(l.name).countParams() : 0;
    if (before === after && !layerMetrics[l.name]) continue;
    layerMetrics[l.name] = { ...((layerMetrics[l.name] as Record<string, Json> | undefined) ?? {}), paramsBefore: before, paramsAfter: after };
  }
  Object.assign(summary, {
    paramsBefore: model.countParams(),
    paramsAfter: pruned.countParams(),
    macsBefore: macs(model),
    macsAfter: macs(pruned),
  });
  const ft = config.finetune;
  if (ft.epochs > 0) {
    const r = await finetune(ctx, pruned, ft);
    summary.finetune = { epochs: r.epochs, steps: r.steps, losses: r.losses.map(round6) };
  }
  return { model: pruned, layers: layerMetrics, summary };
}

/**
 * Removes `fraction` of every attention block's heads (prune-attention-heads.ts
 * says what a head is, how it is scored and how the graph is edited).
 */
async function pruneHeads(ctx: StageContext, model: LayersModel, fraction: number, config: PruneConfig): Promise<{ model: LayersModel; heads: Record<string, Json> }> {
  const tf = await ctx.engine.tf();
  const graph = readGraph(model);
  const blocks = findAttentionBlocks(graph);
  if (blocks.length === 0) {
    throw new StageConfigError('`heads:` removes attention heads, but the model has none (no layer named block{b}_head{h}_{role})', ['heads'], ['head pruning works on models from `build: { arch: transformer }` (src/engine/attention.ts); drop `heads:` for other models']);
  }
  let score: (block: number, head: number) => number;
  if (config.criterion === 'activation') {
    const data = await ctx.data(config.calibration.data);
    const outputs = blocks.flatMap((b) => b.heads.map((h) => headLayerName(b.block, h, 'output')));
    const channelMeans = await activationScores(ctx, model, outputs, data, config.calibration.samples);
    // Mean |output| over all of a head's output values: the mean of its channel means.
    score = (b, h) => {
      const s = channelMeans.get(headLayerName(b, h, 'output'))!;
      return s.reduce((a, v) => a + v, 0) / s.length;
    };
  } else {
    const criterion = config.criterion as 'l1' | 'l2';
    const read = (layer: string) => weightOf(model, layer, 'kernel')!.read().dataSync() as Float32Array;
    score = (b, h) => headNorm([read(headLayerName(b, h, 'value')), read(headLayerName(b, h, 'output'))], criterion);
  }
  const plan = planHeadRemoval(blocks, fraction, score);
  await checkpoint(ctx.signal);
  const gone = removeHeads(graph, blocks, plan);
  const pruned = await loadEdited(tf, model, graph.topology, new Map(), gone);
  const heads: Record<string, Json> = {};
  for (const b of blocks) {
    const removed = plan.get(b.block)!;
    heads[`block${b.block}`] = { headsBefore: b.heads.length, headsAfter: b.heads.length - removed.length, removed };
  }
  ctx.progress({ done: 1, total: 1, unit: 'prune', message: `${[...plan.values()].reduce((n, r) => n + r.length, 0)} attention heads removed` });
  return { model: pruned, heads };
}

/** Removes each targeted layer's lowest-ranked units/filters and cuts what reads them. */
async function pruneUnits(ctx: StageContext, model: LayersModel, config: PruneConfig, explicit: boolean): Promise<{ model: LayersModel; layers: Record<string, Json>; summary: Record<string, Json> }> {
  const tf = await ctx.engine.tf();
  const graph = readGraph(model);
  const all = layerNames(model);
  // A head's Dense layers lose whole heads (`heads:`), never units: their
  // widths are tied to each other by the attention's Dot layers.
  const eligible = all.filter((n) => PRUNABLE[graph.nodes.get(n)?.className ?? ''] !== undefined && parseHeadLayerName(n) === undefined);
  let selected = selectTargets(eligible, all, config, 'Dense, Conv2D, SeparableConv2D, SimpleRNN, LSTM or GRU layers');
  if (!explicit) {
    // Without `layers:`, "every layer" means every layer that can lose units:
    // the output layer never can, so it is not a target rather than an error.
    selected = new Map([...selected].filter(([n]) => !graph.outputs.has(n)));
    if (selected.size === 0) {
      throw new StageConfigError('the model has no hidden Dense or Conv2D layer to prune (the output layer cannot lose units)', config.exclude?.length ? ['exclude'] : [], [`all layers: ${all.join(', ')}`]);
    }
  }

  // Check every structure before any work, so a refusal comes first.
  const flow = traceChannels(graph, model);
  const { groups, skipped } = planGroups(graph, model, flow, selected, config, explicit);
  if (groups.length === 0) {
    throw new StageConfigError(
      `every targeted layer shares its channels with a layer left out (${skipped.map((g) => g.join(' + ')).join('; ')}); a group is pruned only when all its layers are targeted`,
      config.exclude?.length ? ['exclude'] : [],
    );
  }
  for (const g of skipped) ctx.logger.info(`not pruned: ${g.join(', ')} share channels and not all of them are targeted`);

  const names = groups.flatMap((g) => g.members);
  let scores: Map<string, ArrayLike<number>>;
  if (config.criterion === 'activation') {
    const data = await ctx.data(config.calibration.data);
    scores = await activationScores(ctx, model, names, data, config.calibration.samples);
  } else {
    const criterion = config.criterion as 'l1' | 'l2';
    const scoreOf = (n: string): Float64Array => {
      const className = graph.nodes.get(n)!.className;
      const read = (suffix: string) => weightOf(model, n, suffix)!.read().dataSync() as Float32Array;
      if (isRecurrent(className)) return recurrentNormScores(read('kernel'), read('recurrent_kernel'), channelCount(model, n), RECURRENT_GATES[className]!, criterion);
      return normScores(outputKernel(model, n).read().dataSync() as Float32Array, channelCount(model, n), criterion);
    };
    scores = new Map(names.map((n) => [n, scoreOf(n)]));
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
  const removedRoots = new Set<number>();
  for (const g of groups) {
    await checkpoint(ctx.signal);
    // A unit's score: the sum of its channels' scores over the group's members.
    const index = new Map(g.units.map((u, i) => [u, i]));
    const unitScores = new Float64Array(g.units.length);
    for (const m of g.members) {
      const s = scores.get(m)!;
      flow.sources.get(m)!.forEach((e, c) => {
        const i = index.get(flow.find(e))!;
        unitScores[i] = unitScores[i]! + s[c]!;
      });
    }
    const { removed: removedUnits } = rankChannels(unitScores, g.k);
    for (const i of removedUnits) removedRoots.add(g.units[i]!);
    for (const m of g.members) {
      const els = flow.sources.get(m)!;
      const keep: number[] = [];
      const removed: number[] = [];
      els.forEach((e, c) => (removedRoots.has(flow.find(e)) ? removed : keep).push(c));
      const className = graph.nodes.get(m)!.className;
      if (isRecurrent(className)) {
        for (const c of recurrentUnitCuts(className, els.length, keep)) cut(m, c.role, () => c.axis, c.keep);
      } else {
        cut(m, className === 'SeparableConv2D' ? 'pointwise_kernel' : 'kernel', (r) => r - 1, keep);
        cut(m, 'bias', () => 0, keep);
      }
      graph.configs.get(m)![g.what] = keep.length;
      const before = g.what === 'units' ? 'unitsBefore' : 'filtersBefore';
      const after = g.what === 'units' ? 'unitsAfter' : 'filtersAfter';
      layerMetrics[m] = { [before]: els.length, [after]: keep.length, removed, ...(g.members.length > 1 ? { group: g.members } : {}) };
    }
  }
  // Every layer reading removed channels loses them on its input axis.
  for (const [layer, els] of flow.reads) {
    const keepIn: number[] = [];
    els.forEach((e, i) => {
      if (!removedRoots.has(flow.find(e))) keepIn.push(i);
    });
    if (keepIn.length === els.length) continue;
    const className = graph.nodes.get(layer)!.className;
    const dm = Number(graph.nodes.get(layer)!.config.depth_multiplier ?? 1);
    const expanded = keepIn.flatMap((i) => Array.from({ length: dm }, (_, m) => i * dm + m));
    if (className === 'BatchNormalization') for (const s of ['gamma', 'beta', 'moving_mean', 'moving_variance']) cut(layer, s, () => 0, keepIn);
    else if (className === 'Dense' || isRecurrent(className)) cut(layer, 'kernel', () => 0, keepIn);
    else if (className === 'Conv2D') cut(layer, 'kernel', () => 2, keepIn);
    else if (className === 'DepthwiseConv2D') {
      cut(layer, 'depthwise_kernel', () => 2, keepIn);
      cut(layer, 'bias', () => 0, expanded);
    } else if (className === 'SeparableConv2D') {
      cut(layer, 'depthwise_kernel', () => 2, keepIn);
      cut(layer, 'pointwise_kernel', () => 2, expanded);
    }
  }

  const pruned = await loadEdited(tf, model, graph.topology, cuts, new Set());
  ctx.progress({ done: 1, total: 1, unit: 'prune', message: `${names.length} layers cut` });
  const summary: Record<string, Json> = {
    ...(groups.some((g) => g.members.length > 1) ? { groups: groups.filter((g) => g.members.length > 1).map((g) => g.members) } : {}),
    ...(skipped.length > 0 ? { notPruned: skipped } : {}),
  };
  return { model: pruned, layers: layerMetrics, summary };
}

/**
 * The model `topology` describes (the input's JSON config, edited), loaded
 * with the input's weights: cut along `cuts` (by weight name), and without
 * those of the layers in `gone`. Loaded like any saved artifact, so what
 * comes out is what stock `tf.loadLayersModel` would make of it.
 */
async function loadEdited(tf: Tf, model: LayersModel, topology: Record<string, unknown>, cuts: ReadonlyMap<string, readonly { axis: number; keep: number[] }[]>, gone: ReadonlySet<string>): Promise<LayersModel> {
  const specs: io.WeightsManifestEntry[] = [];
  const parts: Float32Array[] = [];
  for (const l of model.layers) {
    if (gone.has(l.name)) continue;
    for (const w of l.weights) {
      let values: Float32Array = Float32Array.from(w.read().dataSync() as Float32Array);
      let shape = [...w.shape] as number[];
      for (const c of cuts.get(w.originalName) ?? []) ({ values, shape } = takeAlong(values, shape, c.axis, c.keep));
      specs.push({ name: w.originalName, shape, dtype: 'float32' });
      parts.push(values);
    }
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  const artifacts: io.ModelArtifacts = { modelTopology: topology, format: 'layers-model', weightSpecs: specs, weightData: bytes.buffer };
  return tf.loadLayersModel({ load: async () => artifacts });
}

/**
 * Multiply-accumulates per example, by the project's one MAC rule
 * (src/measure/layer-cost.ts): Dense, convolutions, recurrent layers and the
 * attention's Dot layers, so removing a head or a unit shows in full.
 */
export function macs(model: LayersModel): number {
  return countMacs(model.toJSON(null, false)).macs;
}
