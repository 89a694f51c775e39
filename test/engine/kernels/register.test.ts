/** registerWasmTrainingKernels: what it registers, idempotence, and its precondition. */
import { jest } from '@jest/globals';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../../src/engine/kernels/index.js';
import { tf } from './helpers.js';

const ALL = ['Conv2DBackpropFilter', 'MaxPoolGrad', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'Tile', 'BatchMatMul', 'UnsortedSegmentSum', 'ModelpressBatchNormTraining', 'ModelpressBatchNormTrainingGrad', 'ModelpressClipByValueGrad', 'ModelpressAdamUpdate', 'Sum', 'Identity'];
const GRADIENTS = ['Tile (gradient)', 'ClipByValue (gradient)', 'ModelpressBatchNormTraining (gradient)'];

test('registers the missing kernels and replaces the broken and the slow one, once', () => {
  const stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm');
  const stockBackpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
  expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')).toBeUndefined();
  expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeUndefined();

  expect(registerWasmTrainingKernels(tf)).toEqual([...ALL, ...GRADIENTS]);
  expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')).toBeDefined();
  expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeDefined();
  expect(tf.getKernel('MaxPoolGrad', 'wasm')).not.toBe(stockMaxPoolGrad);
  const backpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  expect(backpropInput).not.toBe(stockBackpropInput);
  // It delegates strides > 1 to the stock kernel, which needs its setup run.
  expect(backpropInput.setupFunc).toBe(stockBackpropInput.setupFunc);

  const warn = jest.spyOn(console, 'warn');
  expect(registerWasmTrainingKernels(tf)).toEqual([]);
  expect(warn).not.toHaveBeenCalled(); // tfjs warns on re-registration
  warn.mockRestore();

  expect(WASM_TRAINING_KERNELS.map((k) => k.name)).toEqual(ALL);
});

test('leaves a Conv2DBackpropFilter that someone else registered alone', () => {
  const mine = tf.getKernel('Conv2DBackpropFilter', 'wasm');
  tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  const other = { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: () => ({ dataId: {}, shape: [], dtype: 'float32' as const }) };
  tf.registerKernel(other);
  try {
    expect(registerWasmTrainingKernels(tf)).toEqual([]);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(other);
  } finally {
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    tf.registerKernel(mine);
  }
});

test('refuses to run before the wasm package registered its kernels', () => {
  const fakeTf = { ...tf, getKernel: () => undefined } as unknown as typeof tf;
  expect(() => registerWasmTrainingKernels(fakeTf)).toThrow(
    "registerWasmTrainingKernels: import '@tensorflow/tfjs-backend-wasm' first (its stock kernels would otherwise overwrite these)",
  );
});
