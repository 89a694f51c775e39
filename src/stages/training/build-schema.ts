/**
 * `model.build` as in the recipe schema (`$defs.build`), for the stages that
 * build a fresh model themselves (distill's `student.build`, train's `build`).
 */
import { ACTIVATIONS, ARCHS, POOLINGS } from '../../engine/builders.js';

export function buildSpecSchema(description: string) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['arch'],
    description,
    properties: {
      arch: { enum: [...ARCHS], description: 'mlp, lenet5, cnn, or a sequence arch: lstm, gru, conv1d, transformer.' },
      inputShape: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 4, description: 'Input shape without the batch dimension. Default: the example shape of the dataset the model is trained on (inferred by `validate`), else [784] for mlp, [28, 28, 1] for lenet5 and cnn, [28, 28] for sequence archs ([64] with `embedding`).' },
      classes: { type: 'integer', minimum: 2, description: 'Output classes. Default: the classes of the dataset the model is trained on (inferred by `validate`), else 10.' },
      units: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, description: 'mlp: hidden layer widths. Default: [300, 100]. lstm, gru: units per recurrent layer. Default: [128].' },
      filters: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, description: 'cnn: filters per conv block. Default: [8, 16]. conv1d: Default: [32, 64].' },
      kernelSize: { type: 'integer', minimum: 1, default: 3, description: 'cnn, conv1d: conv kernel size.' },
      activation: { enum: [...ACTIVATIONS], default: 'relu', description: 'Hidden-layer activation.' },
      dropout: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Dropout rate after hidden layers.' },
      // The arch-specific options below carry no schema `default`: ajv fills
      // defaults into every build spec (mlp's too), where they would enter
      // existing cache keys and trip the builder's wrong-arch check.
      embedding: {
        type: 'object',
        additionalProperties: false,
        required: ['vocabulary', 'dimensions'],
        description: 'lstm, gru, conv1d, transformer: [time] integer token ids in, through a first Embedding layer.',
        properties: {
          vocabulary: { type: 'integer', minimum: 1, description: 'Token ids are 0 .. vocabulary - 1.' },
          dimensions: { type: 'integer', minimum: 1, description: 'Width of each token vector (transformer: must equal dimensions).' },
          maskZero: { type: 'boolean', description: 'lstm, gru: token 0 is padding, skipped. Default: false.' },
        },
      },
      bidirectional: { type: 'boolean', description: 'lstm, gru: read the sequence both ways. Default: false.' },
      pooling: { enum: [...POOLINGS], description: 'conv1d: global pooling over time. Default: average.' },
      dimensions: { type: 'integer', minimum: 1, description: 'transformer: model width. Default: 64.' },
      blocks: { type: 'integer', minimum: 1, description: 'transformer: encoder blocks. Default: 2.' },
      heads: { type: 'integer', minimum: 1, description: 'transformer: attention heads per block; must divide dimensions. Default: 4.' },
      feedForward: { type: 'integer', minimum: 1, description: 'transformer: feed-forward hidden width. Default: 2 * dimensions.' },
    },
  } as const;
}
