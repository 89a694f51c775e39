/**
 * BatchNormalization folding: an inference-mode BN right after a Conv2D,
 * DepthwiseConv2D or Dense is an affine map per channel, so it can live in
 * that layer's kernel and bias instead:
 *
 *   s = gamma / sqrt(moving_variance + epsilon)
 *   W'[..., c] = W[..., c] · s[c]        b'[c] = (b[c] - moving_mean[c]) · s[c] + beta[c]
 *
 * (a layer without a bias gets one: b = 0). The BN layer leaves the graph
 * and whatever read it reads the folded layer. Fewer layers, fewer
 * parameters, one pass less over the activations at inference; the outputs
 * are the same up to float32 rounding.
 *
 * A BN is kept, with the reason in `kept`, when folding would change the
 * model: its input is not such a layer, that layer has a non-linear
 * activation (the BN normalises after it), that layer's output also goes
 * elsewhere or is a model output (the others would see the folded values),
 * either layer is shared, or the BN normalises another axis than channels.
 *
 * Works on model artifacts (JSON topology + manifest weights), plain
 * typed-array arithmetic in float64 rounded once to float32, no tfjs: the
 * same bytes on every backend. Quantized input weights are dequantized first.
 */
import type { io } from '@tensorflow/tfjs';
import { decodeFloat32, float32Weight, splitWeights, withWeights } from './weight-quantization.js';
import type { StoredWeight } from './weight-quantization.js';

/** What folding did, for a stage's metrics. */
export interface FoldReport {
  /** BN layers folded, each into the layer before it, in model order. */
  folded: { batchNorm: string; into: string }[];
  /** BN layers left in the model, and why. */
  kept: { layer: string; reason: string }[];
  layersBefore: number;
  layersAfter: number;
  paramsBefore: number;
  paramsAfter: number;
}

export interface FoldResult {
  artifacts: io.ModelArtifacts;
  report: FoldReport;
}

type Edge = [string, number, number, Record<string, unknown>?];
interface RawLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: Edge[][];
}

const FOLDABLE = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

function isLinear(activation: unknown): boolean {
  return activation === undefined || activation === null || activation === 'linear';
}

/** Folds every foldable BatchNormalization of `artifacts` into the layer before it. */
export function foldBatchNorm(artifacts: io.ModelArtifacts): FoldResult {
  const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as Record<string, unknown>;
  const top = (topology.model_config ?? topology) as Record<string, unknown>;
  const className = top.class_name as string;
  const sequential = className === 'Sequential';
  const config = top.config as Record<string, unknown> | RawLayer[];
  const layers = (Array.isArray(config) ? config : (config.layers as RawLayer[])) ?? [];
  const nameOf = (l: RawLayer) => (l.name ?? l.config.name) as string;

  const weights = splitWeights(artifacts);
  const byName = new Map(weights.map((w) => [w.spec.name, w]));
  const paramsOf = (ws: readonly StoredWeight[]) => ws.filter((w) => w.spec.group !== 'optimizer').reduce((n, w) => n + w.spec.shape.reduce((a, b) => a * b, 1), 0);
  const report: FoldReport = { folded: [], kept: [], layersBefore: layers.length, layersAfter: layers.length, paramsBefore: paramsOf(weights), paramsAfter: 0 };

  // Who reads whom (functional: inbound nodes; Sequential: the previous layer).
  const inputsOf = (l: RawLayer, i: number): Edge[] | undefined => {
    if (sequential) {
      const prev = layers.slice(0, i).reverse().find((p) => p.class_name !== 'InputLayer');
      return prev ? [[nameOf(prev), 0, 0, {}]] : undefined;
    }
    if (!Array.isArray(l.inbound_nodes) || l.inbound_nodes.length !== 1 || !Array.isArray(l.inbound_nodes[0])) return undefined;
    return l.inbound_nodes[0];
  };
  const readers = new Map<string, number>();
  layers.forEach((l, i) => {
    if (sequential) {
      const e = inputsOf(l, i);
      if (e && l.class_name !== 'InputLayer') readers.set(e[0]![0], (readers.get(e[0]![0]) ?? 0) + 1);
      return;
    }
    for (const node of l.inbound_nodes ?? []) for (const edge of Array.isArray(node) ? node : []) if (Array.isArray(edge)) readers.set(edge[0], (readers.get(edge[0]) ?? 0) + 1);
  });
  const outputs = new Set<string>();
  if (sequential) {
    const last = layers[layers.length - 1];
    if (last) outputs.add(nameOf(last));
  } else {
    for (const o of ((config as Record<string, unknown>).output_layers ?? []) as unknown[]) if (Array.isArray(o)) outputs.add(o[0] as string);
  }

  const replaced = new Map<string, StoredWeight>();
  const removedWeights = new Set<string>();
  const addedBias = new Map<string, StoredWeight>();
  /** BN name -> the edge it read, to rewire its readers. */
  const rewire = new Map<string, Edge>();
  const byLayerName = new Map(layers.map((l) => [nameOf(l), l]));

  layers.forEach((l, i) => {
    if (l.class_name !== 'BatchNormalization') return;
    const bn = nameOf(l);
    const keep = (reason: string) => report.kept.push({ layer: bn, reason });
    const edges = inputsOf(l, i);
    if (!edges || edges.length !== 1) return keep(sequential ? 'it is the first layer' : 'it is shared or reads several inputs');
    const predName = edges[0]![0];
    const pred = byLayerName.get(predName);
    if (!pred || !FOLDABLE.has(pred.class_name)) return keep(`its input \`${predName}\` is ${pred ? `${/^[AEIOU]/.test(pred.class_name) ? 'an' : 'a'} ${pred.class_name}` : 'not a layer'}, not a Conv2D, DepthwiseConv2D or Dense`);
    if (!sequential && (pred.inbound_nodes ?? []).length !== 1) return keep(`\`${predName}\` is shared (called on several inputs)`);
    if (!isLinear(pred.config.activation)) return keep(`\`${predName}\` applies ${String(pred.config.activation)} before it`);
    const df = pred.config.data_format;
    if (df !== undefined && df !== null && df !== 'channels_last') return keep(`\`${predName}\` uses data_format ${String(df)}`);
    if ((readers.get(predName) ?? 0) > 1 || outputs.has(predName)) return keep(`\`${predName}\`'s output also goes elsewhere, which would see the folded values`);
    const axis = Array.isArray(l.config.axis) && l.config.axis.length === 1 ? l.config.axis[0] : l.config.axis;
    const channelAxis = pred.class_name === 'Dense' ? [-1] : [-1, 3];
    if (!channelAxis.includes(axis as number)) return keep(`it normalises axis ${JSON.stringify(l.config.axis)}, not the channels`);

    const kernelName = `${predName}/${pred.class_name === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel'}`;
    const kernel = replaced.get(kernelName) ?? byName.get(kernelName);
    const kv = kernel && decodeFloat32(kernel);
    if (!kernel || !kv) return keep(`\`${kernelName}\` is not a float32 weight of the model`);
    const shape = kernel.spec.shape;
    const channels = pred.class_name === 'DepthwiseConv2D' ? shape[2]! * shape[3]! : shape[shape.length - 1]!;
    const param = (suffix: string, fallback: number): Float32Array | undefined => {
      const w = byName.get(`${bn}/${suffix}`);
      if (!w) return (suffix === 'gamma' && l.config.scale === false) || (suffix === 'beta' && l.config.center === false) ? new Float32Array(channels).fill(fallback) : undefined;
      return decodeFloat32(w);
    };
    const gamma = param('gamma', 1);
    const beta = param('beta', 0);
    const mean = param('moving_mean', 0);
    const variance = param('moving_variance', 1);
    if (!gamma || !beta || !mean || !variance) return keep('its parameters are not float32 weights of the model');
    if ([gamma, beta, mean, variance].some((p) => p.length !== channels)) return keep(`its ${gamma.length} channels do not match \`${predName}\`'s ${channels}`);
    const eps = Number(l.config.epsilon ?? 1e-3);

    const s = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + eps));
    const k = new Float32Array(kv.length);
    for (let j = 0; j < kv.length; j++) k[j] = kv[j]! * s[j % channels]!;
    const biasName = `${predName}/bias`;
    const oldBias = replaced.get(biasName) ?? byName.get(biasName);
    const bv = oldBias ? decodeFloat32(oldBias) : new Float32Array(channels);
    if (!bv) return keep(`\`${biasName}\` is not a float32 weight`);
    const b = Float32Array.from(bv, (v, c) => (v - mean[c]!) * s[c]! + beta[c]!);
    replaced.set(kernelName, float32Weight(kernelName, shape, k, kernel.spec.group));
    const biasWeight = float32Weight(biasName, [channels], b, oldBias?.spec.group ?? kernel.spec.group);
    if (oldBias) replaced.set(biasName, biasWeight);
    else {
      addedBias.set(kernelName, biasWeight);
      pred.config.use_bias = true;
    }
    for (const suffix of ['gamma', 'beta', 'moving_mean', 'moving_variance']) removedWeights.add(`${bn}/${suffix}`);
    rewire.set(bn, edges[0]!);
    report.folded.push({ batchNorm: bn, into: predName });
  });

  // The graph without the folded BNs: their readers read the folded layer.
  const kept = layers.filter((l) => !rewire.has(nameOf(l)));
  if (!sequential) {
    for (const l of kept) {
      for (const node of l.inbound_nodes ?? []) {
        node.forEach((edge, j) => {
          const to = rewire.get(edge[0]);
          if (to) node[j] = [to[0], to[1], to[2], ...(edge.length > 3 ? [edge[3]] : [])] as Edge;
        });
      }
    }
    const cfg = config as Record<string, unknown>;
    cfg.output_layers = ((cfg.output_layers ?? []) as Edge[]).map((o) => {
      const to = rewire.get(o[0]);
      return to ? [to[0], to[1], to[2]] : o;
    });
  }
  if (Array.isArray(config)) top.config = kept;
  else config.layers = kept;

  const out: StoredWeight[] = [];
  for (const w of weights) {
    if (removedWeights.has(w.spec.name)) continue;
    out.push(replaced.get(w.spec.name) ?? w);
    const bias = addedBias.get(w.spec.name);
    if (bias) out.push(bias);
  }
  report.layersAfter = kept.length;
  report.paramsAfter = paramsOf(out);
  return { artifacts: { ...withWeights(artifacts, out), modelTopology: topology }, report };
}
