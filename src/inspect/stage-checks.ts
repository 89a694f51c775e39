/**
 * Which built-in stages act on which layers, and why not: the answer
 * `modelpress inspect` gives before anyone writes `layers:` patterns.
 *
 * Every rule here calls the stage's own targeting code (the functions the
 * stage runs to pick its layers), never a copy of it: when a stage learns a
 * new layer type, inspect says so without a change here. Each rule answers
 * for the stage's defaults with no `layers:` / `exclude:` (what a plain
 * `uses: prune` does); a pattern can still narrow that down, never widen it.
 *
 * A new stage (or a stage added by another branch, e.g. batch-norm folding)
 * is one more entry in `STAGE_RULES`.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { io } from '@tensorflow/tfjs';
import { splitWeights } from '../formats/weight-quantization.js';
import { kernelVariables } from '../stages/prune/prune-magnitude.js';
import { PRUNABLE, traceChannels } from '../stages/prune/prune-channels.js';
import { checkTarget, readGraph } from '../stages/prune/prune-structured.js';
import { DEFAULT_QUANTIZE_MIN_SIZE, DEFAULT_QUANTIZE_WEIGHTS, decide, isFloatWeight, weightOwners } from '../stages/quantize/quantize.js';
import { shareableLayers } from '../stages/share/share.js';
import { selectLayers } from '../stages/training/layer-targeting.js';
import type { StageCheck } from './model-report.js';

/** What a rule looks at: the model as tfjs instantiates it, and its stored weights. */
export interface StageRuleInput {
  model: LayersModel;
  artifacts: io.ModelArtifacts;
}

/** One rule's answer: per layer name, and (optionally) per stored weight name. */
export interface StageRuleResult {
  layers: Map<string, StageCheck>;
  weights?: Map<string, StageCheck>;
}

export interface StageRule {
  /** Key in `LayerReport.stages` and in `--json`. */
  id: string;
  /** Column header and the prefix of "why not" lines. */
  label: string;
  check(input: StageRuleInput): StageRuleResult;
}

const YES: StageCheck = { applies: true };

function no(reason: string): StageCheck {
  return { applies: false, reason };
}

function perLayer(model: LayersModel, f: (name: string) => StageCheck): Map<string, StageCheck> {
  return new Map(model.layers.map((l) => [l.name, f(l.name)]));
}

/** `prune` with `method: magnitude` or `threshold`: masks individual kernel values. */
const pruneUnstructured: StageRule = {
  id: 'prune',
  label: 'prune',
  check: ({ model }) => ({ layers: perLayer(model, (n) => (kernelVariables(model, n).length > 0 ? YES : no('no kernel to mask'))) }),
};

/** `prune` with `method: structured`: removes whole units / filters. */
const pruneStructured: StageRule = {
  id: 'prune-structured',
  label: 'prune structured',
  check: ({ model }) => {
    let graph: ReturnType<typeof readGraph>;
    try {
      graph = readGraph(model);
    } catch (error) {
      const reason = (error as Error).message;
      return { layers: perLayer(model, () => no(reason)) };
    }
    const classes = Object.keys(PRUNABLE).join(', ');
    let flow: ReturnType<typeof traceChannels>;
    try {
      flow = traceChannels(graph, model);
    } catch (error) {
      const reason = (error as Error).message;
      return { layers: perLayer(model, () => no(reason)) };
    }
    return {
      layers: perLayer(model, (name) => {
        const className = graph.nodes.get(name)?.className ?? model.getLayer(name).getClassName();
        const what = PRUNABLE[className];
        if (what === undefined) return no(`${className} is not one of ${classes}`);
        try {
          checkTarget(graph, name, ['method']);
        } catch (error) {
          return no((error as Error).message);
        }
        // The stage's own refusal: channels that reach the output, meet the input, a Reshape...
        const pinned = flow.pinOf(flow.sources.get(name) ?? []);
        return pinned ? no(pinned(name, what)) : YES;
      }),
    };
  },
};

/** `share`: clusters float kernels of rank >= 2. */
const share: StageRule = {
  id: 'share',
  label: 'share',
  check: ({ model }) => {
    const shareable = new Set(shareableLayers(model).map((l) => l.name));
    return { layers: perLayer(model, (n) => (shareable.has(n) ? YES : no('no kernel to cluster'))) };
  },
};

/** `quantize` with its defaults (weights: uint8, minSize: 256): decided per tensor, by the stage's own `decide`. */
const quantize: StageRule = {
  id: 'quantize',
  label: 'quantize',
  check: ({ model, artifacts }) => {
    const stored = splitWeights(artifacts);
    const owner = weightOwners(model);
    const all = model.layers.map((l) => l.name);
    const withFloat = new Set(stored.filter(isFloatWeight).map((w) => owner.get(w.spec.name)));
    const eligible = all.filter((n) => withFloat.has(n));
    const selection = selectLayers(eligible, all, { weights: DEFAULT_QUANTIZE_WEIGHTS, minSize: DEFAULT_QUANTIZE_MIN_SIZE }, {});
    const weights = new Map<string, StageCheck>();
    const kept = new Map<string, string[]>();
    const quantized = new Set<string>();
    for (const w of stored) {
      const layer = owner.get(w.spec.name);
      const d = decide(w, layer, selection);
      if (d.store === 'keep') {
        const reason = d.reason ?? 'kept';
        weights.set(w.spec.name, no(reason));
        if (layer !== undefined) kept.set(layer, [...(kept.get(layer) ?? []), `${w.spec.name.slice(layer.length + 1) || w.spec.name} ${reason}`]);
      } else {
        weights.set(w.spec.name, YES);
        if (layer !== undefined) quantized.add(layer);
      }
    }
    return {
      weights,
      layers: perLayer(model, (n) => {
        if (quantized.has(n)) return YES;
        if (!withFloat.has(n)) return no('no float32 weights');
        return no((kept.get(n) ?? []).join(', '));
      }),
    };
  },
};

/** The built-in stages inspect reports on, in column order. */
export const STAGE_RULES: readonly StageRule[] = [pruneUnstructured, pruneStructured, share, quantize];
