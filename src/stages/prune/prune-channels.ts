/**
 * Where each channel of a layer graph comes from, for structured pruning:
 * every output channel of a Dense / Conv2D / SeparableConv2D ("source"
 * layers) is an element of a union-find, and each layer's output is the list
 * of elements its channels carry. Walking the graph in topological order:
 *
 * - pass-through layers (BatchNormalization, activations, Dropout, pooling,
 *   ZeroPadding, ...) carry their input's list unchanged;
 * - DepthwiseConv2D carries its input's list, each entry repeated
 *   `depth_multiplier` times: its channels follow its input, never ranked
 *   on their own;
 * - Add / Subtract / Multiply / Average / Maximum / Minimum unite their
 *   inputs' elements position by position: channels that meet there can
 *   only be removed together (one group);
 * - Concatenate (channel axis) joins the lists: a channel of the second
 *   input sits at offset + c downstream;
 * - Flatten repeats the list per spatial position (row p·C + c);
 * - weighted layers record the list they read (their input cuts) and
 *   sources (Dense, Conv2D, SeparableConv2D, SimpleRNN, LSTM, GRU) start
 *   fresh elements.
 *
 * An element that must keep its channel is pinned with the reason, phrased
 * for whichever layer the user targeted: the model's input, a model output
 * reached through pass-through layers, a layer prune cannot cut to match
 * (Reshape, LayerNormalization, a shared layer, a merge of mismatched widths).
 * A group with a pinned element is refused, never cut into a broken model.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';

/** A layer of the model's JSON graph (see readGraph in prune-structured.ts). */
export interface GraphNode {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers feeding this one. */
  inputs: string[];
  /** Called on more than one input (a shared layer). */
  shared: boolean;
}

export interface LayerGraph {
  nodes: Map<string, GraphNode>;
  consumers: Map<string, string[]>;
  outputs: Set<string>;
  /** The model's JSON config (snake_case, as saved); edited to rebuild. */
  topology: Record<string, unknown>;
  /** Layer configs by name inside `topology`, for editing in place. */
  configs: Map<string, Record<string, unknown>>;
}

/**
 * Layer classes whose output channels structured pruning can remove, and
 * what it calls them. A recurrent layer's channels are its units (its
 * output's last axis, with or without `return_sequences`); which of its
 * weights lose what is prune-recurrent-units.ts.
 */
export const PRUNABLE: Record<string, 'units' | 'filters'> = { Dense: 'units', Conv2D: 'filters', SeparableConv2D: 'filters', SimpleRNN: 'units', LSTM: 'units', GRU: 'units' };

/** Layers whose output carries their input's channels one to one. */
export const PASS_THROUGH = new Set([
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

/** Element-wise merges: their inputs' channels meet position by position. */
export const MERGES = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);

/** Builds the refusal for a targeted layer `name` whose channels are called `what`. */
export type PinReason = (name: string, what: string) => string;

/** Which weighted layers read which channel elements, and which elements are tied or pinned. */
export interface ChannelFlow {
  /** Source layer -> its output elements (channel c is `elements[c]`). */
  sources: Map<string, number[]>;
  /** Weighted layer (Dense, Conv2D, SeparableConv2D, DepthwiseConv2D, BatchNormalization, SimpleRNN, LSTM, GRU) -> the elements of its input channels. */
  reads: Map<string, number[]>;
  /** Union-find root of an element. */
  find(e: number): number;
  /** The first pin recorded among `elements` (walk order), if any. */
  pinOf(elements: Iterable<number>): PinReason | undefined;
  /** For a group root: where its channels met (the merge layers), for messages. */
  meetings: Map<number, string[]>;
}

function channelsLast(n: GraphNode): boolean {
  const f = n.config.data_format;
  return f === undefined || f === null || f === 'channels_last';
}

function lastDim(shape: unknown): number {
  const s = (Array.isArray(shape) && Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[];
  return s[s.length - 1] ?? 0;
}

/** Layers in an order where every layer comes after its inputs (model order among equals). */
function topological(graph: LayerGraph): GraphNode[] {
  const done = new Set<string>();
  const out: GraphNode[] = [];
  const visit = (n: GraphNode) => {
    if (done.has(n.name)) return;
    done.add(n.name);
    for (const i of n.inputs) {
      const m = graph.nodes.get(i);
      if (m) visit(m);
    }
    out.push(n);
  };
  for (const n of graph.nodes.values()) visit(n);
  return out;
}

/** Walks `graph` once and returns where every channel comes from and goes. */
export function traceChannels(graph: LayerGraph, model: LayersModel): ChannelFlow {
  const parent: number[] = [];
  const pins = new Map<number, { seq: number; reason: PinReason }>();
  let seq = 0;
  const fresh = (count: number, reason?: PinReason): number[] => {
    const els = Array.from({ length: count }, () => {
      parent.push(parent.length);
      return parent.length - 1;
    });
    if (reason) for (const e of els) pins.set(e, { seq, reason });
    seq++;
    return els;
  };
  const find = (e: number): number => {
    while (parent[e] !== e) {
      parent[e] = parent[parent[e]!]!;
      e = parent[e]!;
    }
    return e;
  };
  const pin = (els: readonly number[], reason: PinReason) => {
    for (const e of els) if (!pins.has(e)) pins.set(e, { seq, reason });
    seq++;
  };
  const meetings = new Map<number, string[]>();

  const sources = new Map<string, number[]>();
  const reads = new Map<string, number[]>();
  const outs = new Map<string, number[]>();
  const outShape = (name: string) => model.getLayer(name).outputShape;
  const inputShape = (name: string) => (model.getLayer(name).input as SymbolicTensor).shape;

  for (const n of topological(graph)) {
    // What this layer reads: its inputs' channels, or the model's input for
    // a Sequential model's first layer.
    const ins = n.inputs.map((i) => outs.get(i) ?? []);
    if (n.className === 'InputLayer' || n.inputs.length === 0) {
      const inputs = n.className === 'InputLayer' ? [] : [fresh(lastDim(inputShape(n.name)), (name, what) => `layer \`${name}\`'s ${what} meet the model's input, whose channels cannot be removed`)];
      if (n.className === 'InputLayer') {
        outs.set(n.name, fresh(lastDim(outShape(n.name)), (name, what) => `layer \`${name}\`'s ${what} meet the channels of the model's input \`${n.name}\` (at ${where(name)}), which cannot be removed`));
        continue;
      }
      ins.push(...inputs);
    }
    const via = (name: string) => `layer \`${name}\` feeds \`${n.name}\` (${n.className})`;
    const cannot = (name: string) => `${via(name)}, which prune cannot cut to match`;
    const opaque = (why: PinReason) => {
      for (const i of ins) pin(i, why);
      outs.set(n.name, fresh(lastDim(outShape(n.name)), (name, what) => `layer \`${name}\`'s ${what} meet the output of \`${n.name}\` (${n.className}), which prune cannot cut`));
    };
    if (n.shared) {
      opaque((name) => `${via(name)}, which is shared (called on several inputs): structured pruning cannot follow it`);
      continue;
    }
    if (!channelsLast(n)) {
      opaque((name) => `${via(name)}, which uses data_format channels_first; structured pruning cuts channels_last layers only`);
      continue;
    }
    const one = ins[0] ?? [];
    if (PASS_THROUGH.has(n.className)) {
      outs.set(n.name, one);
    } else if (n.className === 'BatchNormalization') {
      const rank = (outShape(n.name) as number[]).length;
      const axis = Array.isArray(n.config.axis) && n.config.axis.length === 1 ? n.config.axis[0] : n.config.axis;
      if (axis !== -1 && axis !== rank - 1) {
        opaque((name) => `${via(name)} normalising axis ${JSON.stringify(n.config.axis)}, not the channel axis; prune cannot cut it to match`);
        continue;
      }
      reads.set(n.name, one);
      outs.set(n.name, one);
    } else if (n.className === 'DepthwiseConv2D') {
      const dm = Number(n.config.depth_multiplier ?? 1);
      reads.set(n.name, one);
      outs.set(n.name, one.flatMap((e) => Array<number>(dm).fill(e)));
    } else if (n.className === 'Flatten') {
      const shape = inputShape(n.name) as number[];
      const spatial = shape.slice(1, -1).reduce((a, b) => a * b, 1);
      outs.set(n.name, Array.from({ length: spatial }, () => one).flat());
    } else if (MERGES.has(n.className)) {
      if (ins.some((i) => i.length !== one.length)) {
        opaque((name) => `${via(name)}, which merges inputs of different widths (${ins.map((i) => i.length).join(' vs ')}); prune cannot cut them together`);
        continue;
      }
      for (const other of ins.slice(1)) {
        other.forEach((e, c) => {
          const a = find(one[c]!);
          const b = find(e);
          if (a === b) return;
          parent[b] = a;
          const met = [...(meetings.get(a) ?? []), ...(meetings.get(b) ?? [])];
          if (!met.includes(n.name)) met.push(n.name);
          meetings.set(a, met);
        });
      }
      outs.set(n.name, one);
    } else if (n.className === 'Concatenate') {
      const rank = (outShape(n.name) as number[]).length;
      const axis = n.config.axis ?? -1;
      if (axis !== -1 && axis !== rank - 1) {
        opaque((name) => `${via(name)} joining axis ${JSON.stringify(axis)}, not the channel axis; prune cannot cut it to match`);
        continue;
      }
      outs.set(n.name, ins.flat());
    } else if (PRUNABLE[n.className] !== undefined) {
      if (n.className === 'Conv2D' && n.config.groups !== undefined && n.config.groups !== 1) {
        opaque((name) => `${via(name)}, a grouped convolution, which prune cannot cut to match`);
        continue;
      }
      if (n.config.return_state === true || n.config.stateful === true) {
        opaque((name) => `${via(name)}, a recurrent layer with ${n.config.stateful === true ? 'stateful: true' : 'return_state: true'}, which prune cannot cut to match`);
        continue;
      }
      reads.set(n.name, one);
      const own = fresh(lastDim(outShape(n.name)));
      sources.set(n.name, own);
      outs.set(n.name, own);
    } else {
      opaque(cannot);
      continue;
    }
  }

  // Channels that reach a model output (or nowhere) must stay.
  for (const n of graph.nodes.values()) {
    const next = graph.consumers.get(n.name) ?? [];
    if (!graph.outputs.has(n.name) && next.length > 0) continue;
    pin(outs.get(n.name) ?? [], (name, what) => `layer \`${name}\` feeds the model's output through \`${n.name}\`: removing its ${what} would change the model's output`);
  }

  function where(name: string): string {
    const root = find((sources.get(name) ?? [])[0] ?? 0);
    return (meetings.get(root) ?? []).map((m) => `\`${m}\``).join(', ') || 'a merge';
  }

  return {
    sources,
    reads,
    find,
    meetings,
    pinOf(elements) {
      let best: { seq: number; reason: PinReason } | undefined;
      const roots = new Set<number>();
      for (const e of elements) roots.add(find(e));
      for (const [e, p] of pins) if (roots.has(find(e)) && (!best || p.seq < best.seq)) best = p;
      return best?.reason;
    },
  };
}
