/**
 * A logits view of a classifier: the same layers and weights, with the
 * softmax at the output taken off. Distillation (Hinton, Vinyals & Dean 2015)
 * softens both models' outputs as softmax(z / T), which needs the logits z;
 * the probabilities a saved classifier outputs are not enough (log p is z up
 * to a per-row constant only while no probability underflows to 0, and a
 * confident float32 teacher underflows for logit gaps above ~87).
 *
 * The view is a second model rebuilt from the first one's JSON topology with
 * the output activation set to `linear`, weights copied layer by layer. Not a
 * sub-model sharing variables: tfjs has no way to run a Dense layer without
 * its activation, and a rebuilt copy works for any layer type with an
 * `activation` (Dense, Conv2D) and for a trailing Activation/Softmax layer.
 * A stage that trains through the view copies the weights back into the
 * original (`copyWeightsByLayer`), whose saved topology keeps its softmax.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';

export interface LogitsView {
  /** A model with the original's layer names and (copied) weights whose output is the logits. */
  model: LayersModel;
  /** Name of the original's output layer. */
  outputLayer: string;
  /** true: the original ends in softmax, which the view leaves out; false: it outputs logits already. */
  strippedSoftmax: boolean;
  /** One line saying what was done, for the stage log. */
  note: string;
}

interface LayerEntry {
  class_name: string;
  config: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Builds the logits view of `model` (a single-output classifier).
 *
 * @throws Error when the output layer is neither softmax nor linear: its
 *   logits cannot be recovered (a sigmoid output, or a nested model whose
 *   last activation is not visible from the outer topology).
 */
export async function logitsView(tf: Tf, model: LayersModel, label: string): Promise<LogitsView> {
  if (model.outputs.length !== 1) throw new Error(`${label}: expected a model with one output, got ${model.outputs.length}`);
  const outputLayer = model.outputs[0]!.sourceLayer.name;
  const topology = model.toJSON(null, false) as { config: { layers?: LayerEntry[] } };
  const layers = topology.config.layers ?? [];
  const index = layers.findIndex((l) => l.config.name === outputLayer);
  const entry = layers[index];
  if (!entry) throw new Error(`${label}: output layer \`${outputLayer}\` not found in the model's topology`);

  let strippedSoftmax = false;
  if (entry.class_name === 'Softmax') {
    // A Softmax layer has no weights: an identity Activation with its name keeps the graph intact.
    // (Only keys that are set: tfjs's deserializer fails on undefined values.)
    const { axis: _axis, ...rest } = entry.config;
    layers[index] = { ...entry, class_name: 'Activation', config: { ...rest, activation: 'linear' } };
    strippedSoftmax = true;
  } else if (entry.config.activation === 'softmax') {
    entry.config.activation = 'linear';
    strippedSoftmax = true;
  } else if (entry.config.activation !== 'linear') {
    const act = entry.config.activation === undefined ? `no activation setting (${entry.class_name})` : `activation \`${String(entry.config.activation)}\``;
    throw new Error(
      `${label}: output layer \`${outputLayer}\` has ${act}; distillation needs the logits, so the output must be a softmax (which is stripped) or linear`,
    );
  }
  const view = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as Parameters<Tf['models']['modelFromJSON']>[0]);
  copyWeightsByLayer(model, view);
  const note = strippedSoftmax
    ? `${label}: output layer \`${outputLayer}\` ends in softmax; distilling on its logits (softmax stripped in a training copy, kept in the model)`
    : `${label}: output layer \`${outputLayer}\` is linear; its outputs are taken as logits`;
  return { model: view, outputLayer, strippedSoftmax, note };
}

/**
 * Copies every layer's weights from `from` into the layer of the same name in
 * `to`. Per layer, not `model.setWeights(model.getWeights())`: a model lists
 * trainable weights before non-trainable ones, so freezing a layer in one of
 * the two models would shift the order of the whole list.
 */
export function copyWeightsByLayer(from: LayersModel, to: LayersModel): void {
  for (const layer of to.layers) {
    const weights = from.getLayer(layer.name).getWeights();
    if (weights.length > 0) layer.setWeights(weights);
  }
}
