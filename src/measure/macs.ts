/**
 * Multiply-accumulates per inference of one example, from a Keras topology:
 * shapes are propagated from the declared input through every layer call
 * (see layer-cost.ts for what each layer counts and why).
 *
 * MACs are a property of the architecture, not of the weights: a pruned
 * model reports the same number here (its dense kernels still multiply by
 * zeros on every stock runtime). The count of MACs a sparse kernel could skip
 * is `effectiveMacs` in model-stats.ts.
 */
import { callKey, parseKerasTopology, type KerasTopology, type Shape } from './keras-topology.js';
import { layerCost } from './layer-cost.js';

/** One layer's architecture cost (summed over its calls when shared). */
export interface LayerMacs {
  name: string;
  className: string;
  /** Output shape of the first call, without the batch dimension; null when unknown. */
  outputShape: Shape | null;
  /** MACs per example (for a sequence model: per sequence); null when they could not be counted. */
  macs: number | null;
  /**
   * MACs of one time step for layers that repeat per step (recurrent cells,
   * TimeDistributed, Dense on [T, in], Conv1D; see sequence-cost.ts); null
   * for the others. Known even when the time dimension is not.
   */
  macsPerStep: number | null;
  /** Why `macs` is null for a layer that has a rule (e.g. an unknown time dimension). */
  note?: string;
}

export interface TopologyMacs {
  kind: KerasTopology['kind'];
  /** Declared input shapes (without the batch dimension), in layer order. */
  inputShapes: Shape[];
  /** One entry per layer, in execution order of their first call. */
  layers: LayerMacs[];
  /** Sum over layers with known MACs. */
  macs: number;
  /** False when some layer's MACs are unknown (then `macs` is a lower bound). */
  complete: boolean;
  /** Names of the layers whose MACs are unknown. */
  unknown: string[];
}

/** Counts MACs of the model described by `modelTopology` (model.json's field). */
export function countMacs(modelTopology: unknown): TopologyMacs {
  const topology = parseKerasTopology(modelTopology);
  const shapes = new Map<string, Shape | null>();
  const byName = new Map<string, LayerMacs>();
  const inputShapes: Shape[] = [];

  for (const call of topology.calls) {
    const inputs = call.inbound.map((k) => shapes.get(k) ?? null);
    if (call.inbound.length === 0 && call.declaredInput) inputShapes.push(call.declaredInput);
    const cost = layerCost(call.className, call.config, inputs, call.declaredInput);
    shapes.set(callKey(call.name, call.node), cost.outputShape);
    const entry = byName.get(call.name);
    const perStep = cost.macsPerStep ?? null;
    if (entry === undefined) {
      byName.set(call.name, {
        name: call.name,
        className: call.className,
        outputShape: cost.outputShape,
        macs: cost.macs,
        macsPerStep: perStep,
        ...(cost.note !== undefined ? { note: cost.note } : {}),
      });
    } else {
      // A shared layer does its work once per call, per step too.
      entry.macs = entry.macs === null || cost.macs === null ? null : entry.macs + cost.macs;
      entry.macsPerStep = entry.macsPerStep === null || perStep === null ? null : entry.macsPerStep + perStep;
      if (cost.note !== undefined && entry.note === undefined) entry.note = cost.note;
    }
  }
  const layers = [...byName.values()];
  const unknown = layers.filter((l) => l.macs === null).map((l) => l.name);
  return {
    kind: topology.kind,
    inputShapes,
    layers,
    macs: layers.reduce((n, l) => n + (l.macs ?? 0), 0),
    complete: unknown.length === 0,
    unknown,
  };
}
