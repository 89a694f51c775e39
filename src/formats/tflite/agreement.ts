/**
 * How far a TFLite runtime's outputs are from modelpress's own computation
 * of the same file (reference.ts): argmax agreement, and the difference in
 * quantization steps of the output tensor (for a float32 output after
 * DEQUANTIZE, the step is the int8 tensor's scale before it). Also the
 * top-1 accuracy of both against labels.
 */
import type { TfliteGraph } from './graph.js';
import { runGraph } from './reference.js';

export interface Agreement {
  examples: number;
  /** Percent of examples whose argmax is the same. */
  argmaxAgreementPct: number;
  /** Largest |runtime - simulation| over all outputs, in quantization steps (int8 outputs) or absolute (float32 graphs). */
  maxDiffSteps: number;
  /** Percent of output values within one quantization step. */
  withinOneStepPct: number;
  /** Top-1 accuracy (percent) of the runtime's outputs against `labels`. */
  runtimeAccuracy: number;
  /** Top-1 accuracy (percent) of the simulation against `labels`. */
  simulationAccuracy: number;
}

/**
 * One quantization step of the graph's (first) output in the units the
 * runtime returns: 1 for int8 codes, the scale of the int8 tensor a final
 * DEQUANTIZE reads for float32 values; undefined for a float32 graph.
 */
export function outputStep(graph: TfliteGraph): number | undefined {
  const out = graph.outputs[0]!;
  const t = graph.tensors[out]!;
  if (t.dtype === 'int8') return 1;
  const deq = graph.ops.find((o) => o.op === 'DEQUANTIZE' && o.outputs[0] === out);
  return deq ? graph.tensors[deq.inputs[0]!]!.quant?.scale[0] : undefined;
}

function argmax(v: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (v[start + j]! > v[start + best]!) best = j;
  return best;
}

/**
 * Runs the simulation of `graph` on `inputs` (one example each, in the
 * graph input's dtype) and compares it with `runtime` (the runtime's first
 * output of each example, concatenated).
 */
export function compareWithSimulation(graph: TfliteGraph, inputs: ArrayLike<number>[], runtime: ArrayLike<number>, labels: ArrayLike<number>): Agreement {
  const n = inputs.length;
  const width = runtime.length / n;
  const step = outputStep(graph) ?? 0;
  let same = 0;
  let within = 0;
  let maxDiff = 0;
  let hitsRuntime = 0;
  let hitsSim = 0;
  inputs.forEach((x, i) => {
    const sim = runGraph(graph, [x])[0]!;
    const a = argmax(runtime, i * width, width);
    const b = argmax(sim, 0, width);
    if (a === b) same++;
    if (a === labels[i]) hitsRuntime++;
    if (b === labels[i]) hitsSim++;
    for (let j = 0; j < width; j++) {
      const d = Math.abs(runtime[i * width + j]! - sim[j]!) / (step || 1);
      if (d > maxDiff) maxDiff = d;
      // A float32 graph has no step: "within one step" means equal to float32 precision.
      if (d <= (step ? 1 + 1e-6 : 1e-4)) within++;
    }
  });
  const pct = (k: number, of: number): number => (of === 0 ? 0 : (100 * k) / of);
  return {
    examples: n,
    argmaxAgreementPct: pct(same, n),
    maxDiffSteps: maxDiff,
    withinOneStepPct: pct(within, n * width),
    runtimeAccuracy: pct(hitsRuntime, n),
    simulationAccuracy: pct(hitsSim, n),
  };
}

/** `examples` (float32 values) as the graph input expects them: unchanged for a float32 input, quantized for an int8 one. */
export function inputsForGraph(graph: TfliteGraph, examples: Float32Array[]): (Float32Array | Int8Array)[] {
  const t = graph.tensors[graph.inputs[0]!]!;
  if (t.dtype !== 'int8') return examples;
  const s = t.quant!.scale[0]!;
  const zp = t.quant!.zeroPoint[0]!;
  return examples.map((e) => Int8Array.from(e, (v) => Math.max(-128, Math.min(127, Math.round(v / s) + zp))));
}
