/**
 * How a source model's storage reaches the recipe fragment: the rule read
 * off a model's weight specs (one dtype for every tensor of at least the
 * smallest quantized one; none; or not sayable as one quantize stage), and
 * the fragment's quantize stage that stores the weights as trials do. The
 * uint8 MobileNetV2 of examples/pretrained is the real case: every one of
 * its 262 tensors came uint8.
 */
import { join } from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { readModelArtifacts } from '../../../src/engine/model-io.js';
import { sourceStorageRule } from '../../../src/stages/auto/cost-model.js';
import { fragmentStages } from '../../../src/stages/auto/recipe-fragment.js';
import type { FinetuneConfig } from '../../../src/stages/training/finetune.js';

const spec = (name: string, shape: number[], dtype?: 'uint8' | 'uint16' | 'float16'): io.WeightsManifestEntry => ({
  name, shape, dtype: 'float32', ...(dtype ? { quantization: { dtype, ...(dtype === 'float16' ? {} : { min: 0, scale: 1 }) } } : {}),
});
const artifacts = (weightSpecs: io.WeightsManifestEntry[]): io.ModelArtifacts => ({ modelTopology: {}, weightSpecs });
const finetune = { data: 'train', epochs: 0, batchSize: 64, optimizer: 'adam', learningRate: 0.001 } as unknown as FinetuneConfig;

describe('source storage in the recipe fragment', () => {
  test('the rule: one dtype from the smallest quantized tensor up; none; or mixed', async () => {
    expect(sourceStorageRule(artifacts([spec('d/kernel', [10, 30]), spec('d/bias', [30])]))).toBeUndefined();
    expect(sourceStorageRule(artifacts([spec('d/kernel', [10, 30], 'uint8'), spec('d/bias', [30])]))).toEqual({ dtype: 'uint8', minSize: 300 });
    // A float32 tensor as large as a quantized one: no minSize says it.
    expect(sourceStorageRule(artifacts([spec('d/kernel', [10, 30], 'uint8'), spec('e/kernel', [20, 30])]))).toBe('mixed');
    expect(sourceStorageRule(artifacts([spec('d/kernel', [10, 30], 'uint8'), spec('e/kernel', [20, 30], 'float16')]))).toBe('mixed');
    const mobilenet = await readModelArtifacts(join(process.cwd(), 'examples', 'pretrained', 'mobilenet-v2-mnist'));
    expect(sourceStorageRule(mobilenet)).toEqual({ dtype: 'uint8', minSize: 8 });
  });

  test('a source stored uint8 gets a quantize stage that stores it so again; the search\'s dtypes override per layer', () => {
    const sourceStorage = { dtype: 'uint8' as const, minSize: 8 };
    expect(fragmentStages({ dense1: { sparsity: 0.5 } }, { finetune, sourceStorage }).at(-1)).toEqual({ id: 'auto-quantize', uses: 'quantize', with: { weights: 'uint8', minSize: 8 } });
    expect(fragmentStages({ dense1: { sparsity: 0.5 }, dense2: { dtype: 'float16' } }, { finetune, sourceStorage }).at(-1)).toEqual({ id: 'auto-quantize', uses: 'quantize', with: { weights: 'uint8', minSize: 8, layers: { dense2: { weights: 'float16' } } } });
    // A float32 source: a quantize stage only for the search's dtypes.
    expect(fragmentStages({ dense1: { sparsity: 0.5 } }, { finetune }).map((s) => s.uses)).toEqual(['prune']);
  });
});
