/**
 * `model.build` as in the recipe schema (`$defs.build`), for the stages that
 * build a fresh model themselves (distill's `student.build`, train's `build`).
 */
import { ACTIVATIONS, ARCHS } from '../../engine/builders.js';

export function buildSpecSchema(description: string) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['arch'],
    description,
    properties: {
      arch: { enum: [...ARCHS], description: 'mlp, lenet5 or cnn.' },
      inputShape: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 4, description: 'Input shape without the batch dimension. Default: the example shape of the dataset the model is trained on (inferred by `validate`), else [784] for mlp and [28, 28, 1] otherwise.' },
      classes: { type: 'integer', minimum: 2, description: 'Output classes. Default: the classes of the dataset the model is trained on (inferred by `validate`), else 10.' },
      units: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, description: 'mlp: hidden layer widths. Default: [300, 100].' },
      filters: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, description: 'cnn: filters per conv block. Default: [8, 16].' },
      kernelSize: { type: 'integer', minimum: 1, default: 3, description: 'cnn: conv kernel size.' },
      activation: { enum: [...ACTIVATIONS], default: 'relu', description: 'Hidden-layer activation.' },
      dropout: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Dropout rate after hidden layers.' },
    },
  } as const;
}
