/**
 * Output shape and MACs of the sequence layers (recurrent cells, their
 * wrappers, and the batched dot product attention is built from): the
 * sequence half of the per-layer rule behind `countMacs` (layer-cost.ts
 * dispatches here).
 *
 * What counts, per example (= per sequence of T steps):
 * - SimpleRNN / LSTM / GRU: gates x (in x units + units x units) per step,
 *   with gates 1 / 4 / 3 (the input and recurrent matmuls of every gate), x T
 *   steps. This is the count the literature quotes for these cells (e.g. LSTM
 *   per step = 4 (in u + u^2)). GRU: tfjs-layers implements only
 *   `reset_after: false` (it throws on `true`); Keras 2's default
 *   `reset_after: true` multiplies the reset gate after the recurrent matmul
 *   instead of before it: the same matmul shapes, so the same MACs (only the
 *   bias doubles, which the parameter count reads from the weights). The
 *   elementwise work of the cell (LSTM: f*c, i*g, o*tanh(c); GRU: r*h, z*h,
 *   (1-z)*h~: 3 x units multiplies per step) is not counted, like biases and
 *   activations everywhere in layer-cost.ts: it is memory-bound and < 1/in
 *   of the gate matmuls.
 * - Bidirectional: twice the wrapped layer (a forward and a backward copy);
 *   the merge (concat/sum/mul/ave) is free.
 * - TimeDistributed(layer): the layer's MACs on one step's slice, x T.
 * - Dot (`tf.layers.dot`, the score and context products of hand-built
 *   attention): output elements x contracted length; e.g. scores Q K^T of
 *   [Tq, d] and [Tk, d] cost Tq x Tk x d. Its `normalize` (an L2 norm) is
 *   elementwise and not counted.
 *
 * Per step: layers that do the same work at every time step (the recurrent
 * cells, TimeDistributed, and, in layer-cost.ts, Dense on [T, in] and
 * Conv1D) also report `macsPerStep`, the MACs of one step (for Conv1D, one
 * output position). When the time dimension is unknown (`None`, a model
 * built for variable-length input), `macs` per sequence is null (unknown,
 * never a guess) and `macsPerStep` is still given, with a `note` saying so:
 * the model's total is then a lower bound, and per step is the number that
 * does not depend on the input.
 */
import type { Shape } from './keras-topology.js';
import type { LayerCost } from './layer-cost.js';

/** The per-layer rule, passed in by layer-cost.ts so wrappers can cost the layer they wrap without an import cycle. */
export type InnerCost = (className: string, config: Record<string, unknown>, input: Shape) => LayerCost;

/** Gate count per recurrent cell class: how many (in + units) x units matmuls one step does. */
export const RECURRENT_GATES: Readonly<Record<string, number>> = { SimpleRNN: 1, LSTM: 4, GRU: 3 };

const UNKNOWN: LayerCost = { outputShape: null, macs: null };

/** Why a sequence layer has MACs per step only. */
export const UNKNOWN_LENGTH_NOTE = 'the time dimension is unknown (None): MACs per step only; build the input with a fixed length to count per sequence';

/** `macs` for `steps` repetitions of `perStep`, with the per-step figure and, when `steps` is unknown, the note. */
export function perStepCost(outputShape: Shape | null, steps: number | null, perStep: number): LayerCost {
  if (steps === null) return { outputShape, macs: null, macsPerStep: perStep, note: UNKNOWN_LENGTH_NOTE };
  return { outputShape, macs: steps * perStep, macsPerStep: perStep };
}

/** SimpleRNN / LSTM / GRU on [T, in]. */
export function recurrentCost(className: string, cfg: Record<string, unknown>, input: Shape): LayerCost {
  const gates = RECURRENT_GATES[className];
  const units = positiveInt(cfg['units']);
  if (gates === undefined || units === undefined || input.length !== 2) return UNKNOWN;
  const [steps, inDim] = input as [number | null, number | null];
  if (inDim === null) return UNKNOWN;
  // With return_state the layer has more outputs (the states, each [units]);
  // the first one, the sequence output, is what is described here.
  const outputShape: Shape = cfg['return_sequences'] === true ? [steps, units] : [units];
  return perStepCost(outputShape, steps, gates * (inDim * units + units * units));
}

/** Bidirectional(layer): two copies of the wrapped layer, outputs merged by `merge_mode`. */
export function bidirectionalCost(cfg: Record<string, unknown>, input: Shape, inner: InnerCost): LayerCost {
  const wrapped = wrappedLayer(cfg);
  if (!wrapped) return UNKNOWN;
  const one = inner(wrapped.className, wrapped.config, input);
  const mode = cfg['merge_mode'] === undefined ? 'concat' : cfg['merge_mode'];
  let outputShape: Shape | null = null;
  if (one.outputShape !== null && one.outputShape.length > 0) {
    if (mode === 'concat') {
      const last = one.outputShape[one.outputShape.length - 1]!;
      outputShape = [...one.outputShape.slice(0, -1), last === null ? null : 2 * last];
    } else if (mode === 'sum' || mode === 'mul' || mode === 'ave') {
      outputShape = [...one.outputShape];
    }
    // merge_mode null: two separate outputs, no single shape to give.
  }
  return {
    outputShape,
    macs: one.macs === null ? null : 2 * one.macs,
    ...(one.macsPerStep !== undefined ? { macsPerStep: 2 * one.macsPerStep } : {}),
    ...(one.note !== undefined ? { note: one.note } : {}),
  };
}

/** TimeDistributed(layer) on [T, ...rest]: the layer on each [rest] slice. */
export function timeDistributedCost(cfg: Record<string, unknown>, input: Shape, inner: InnerCost): LayerCost {
  const wrapped = wrappedLayer(cfg);
  if (!wrapped || input.length < 2) return UNKNOWN;
  const [steps, ...rest] = input;
  const one = inner(wrapped.className, wrapped.config, rest);
  if (one.macs === null) return { outputShape: one.outputShape === null ? null : [steps ?? null, ...one.outputShape], macs: null };
  return perStepCost(one.outputShape === null ? null : [steps ?? null, ...one.outputShape], steps ?? null, one.macs);
}

/**
 * Dot on two inputs: Keras `batch_dot` semantics (tfjs-layers' Dot mirrors
 * them): `axes` counts the batch dimension; the output is the first input's
 * shape without its contracted axis followed by the second's without its
 * own, [1] when both were vectors.
 */
export function dotCost(cfg: Record<string, unknown>, inputs: readonly (Shape | null)[]): LayerCost {
  if (inputs.length !== 2 || inputs[0] == null || inputs[1] == null) return UNKNOWN;
  const [a, b] = inputs as [Shape, Shape];
  const raw = cfg['axes'];
  const pair = typeof raw === 'number' ? [raw, raw] : Array.isArray(raw) && raw.length === 2 ? raw : undefined;
  if (!pair || !pair.every((x) => Number.isInteger(x))) return UNKNOWN;
  // Batch-inclusive axes (negative ones count from the end) -> indices into the batch-less shapes.
  const index = (axis: number, rank: number): number => (axis < 0 ? rank + 1 + axis : axis) - 1;
  const ia = index(pair[0] as number, a.length);
  const ib = index(pair[1] as number, b.length);
  if (ia < 0 || ia >= a.length || ib < 0 || ib >= b.length) return UNKNOWN;
  const contracted = a[ia] ?? null;
  const outputShape = [...a.filter((_, i) => i !== ia), ...b.filter((_, i) => i !== ib)];
  const out = outputShape.length === 0 ? [1] : outputShape;
  const elements = out.reduce<number | null>((p, d) => (p === null || d === null ? null : p * d), 1);
  return { outputShape: out, macs: elements === null || contracted === null ? null : elements * contracted };
}

function wrappedLayer(cfg: Record<string, unknown>): { className: string; config: Record<string, unknown> } | undefined {
  const layer = cfg['layer'];
  if (layer === null || typeof layer !== 'object' || Array.isArray(layer)) return undefined;
  const { class_name: className, config } = layer as Record<string, unknown>;
  if (typeof className !== 'string' || config === null || typeof config !== 'object' || Array.isArray(config)) return undefined;
  return { className, config: config as Record<string, unknown> };
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}
