/** NCHW <-> NHWC arithmetic, table-driven: where PyTorch's padding is TensorFlow's `same` and where it is not. */
import { describe, expect, test } from '@jest/globals';
import { choosePadding, chwRowsToHwc, depthwiseToHwcm, nchwAxisToNhwc, oihwToHwio, samePads, windowOut } from '../../../src/formats/onnx/layout.js';

describe('padding', () => {
  test.each([
    // size, kernel, stride, dilation, same pads [before, after]
    [8, 3, 1, 1, [1, 1]],
    [8, 3, 2, 1, [0, 1]],
    [7, 3, 2, 1, [1, 1]],
    [9, 5, 2, 1, [2, 2]],
    [8, 2, 2, 1, [0, 0]],
    [9, 3, 1, 2, [2, 2]],
  ])('same on size %i, kernel %i, stride %i, dilation %i pads %j', (size, k, s, d, pads) => {
    expect(samePads(size, k, s, d)).toEqual(pads);
  });

  test.each([
    ['no pads', [0, 0, 0, 0], [8, 8], [3, 3], [1, 1], { kind: 'valid' }],
    ['3x3 pad 1 stride 1', [1, 1, 1, 1], [7, 5], [3, 3], [1, 1], { kind: 'same' }],
    ['3x3 pad 1 stride 2 on 7 (odd): same', [1, 1, 1, 1], [7, 7], [3, 3], [2, 2], { kind: 'same' }],
    ['3x3 pad 1 stride 2 on 8 (even): PyTorch pads before, same pads after', [1, 1, 1, 1], [8, 8], [3, 3], [2, 2], { kind: 'explicit', pads: [[1, 1], [1, 1]] }],
    ['asymmetric', [0, 1, 2, 1], [6, 6], [3, 3], [1, 1], { kind: 'explicit', pads: [[0, 2], [1, 1]] }],
  ] as const)('%s', (_name, pads, size, kernel, stride, want) => {
    expect(choosePadding([...pads] as never, [...size] as never, [...kernel] as never, [...stride] as never, [1, 1])).toEqual(want);
  });

  test('window output sizes (floor and ceil)', () => {
    expect(windowOut(8, 3, 2, 1, 1, 1)).toBe(4);
    expect(windowOut(7, 2, 2, 1, 0, 0)).toBe(3);
    expect(windowOut(7, 2, 2, 1, 0, 0, true)).toBe(4);
  });
});

describe('weights', () => {
  test('OIHW -> HWIO moves element [o][i][h][w] to [h][w][i][o]', () => {
    const w = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, k) => k);
    const out = oihwToHwio(w, 2, 3, 2, 2);
    // [o=1][i=2][h=0][w=1] = ((1*3+2)*2+0)*2+1 = 21 lands at [h=0][w=1][i=2][o=1]
    expect(out[((0 * 2 + 1) * 3 + 2) * 2 + 1]).toBe(21);
  });

  test('depthwise [C*m, 1, H, W] -> [H, W, C, m]', () => {
    const w = Float32Array.from({ length: 6 * 1 * 1 * 1 }, (_, k) => k);
    expect(Array.from(depthwiseToHwcm(w, 3, 2, 1, 1))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('Dense rows C*H*W -> H*W*C', () => {
    // C=2, H=1, W=2, one output: ONNX row order (c,h,w) = c0w0, c0w1, c1w0, c1w1.
    expect(Array.from(chwRowsToHwc(Float32Array.of(10, 11, 20, 21), 2, 1, 2, 1))).toEqual([10, 20, 11, 21]);
  });

  test('NCHW axes as NHWC axes', () => {
    expect([0, 1, 2, 3].map(nchwAxisToNhwc)).toEqual([0, 3, 1, 2]);
  });
});
