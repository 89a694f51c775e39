import { axisTaps, fitImage, placeWindow, resizeImage } from '../../src/data/image-resize.js';
import type { FloatImage, ResizeMode } from '../../src/data/image-resize.js';

/** A grey image from rows of values. */
const grey = (rows: number[][]): FloatImage => ({ height: rows.length, width: rows[0]!.length, channels: 1, data: Float32Array.from(rows.flat()) });
const rowsOf = (img: FloatImage): number[][] =>
  Array.from({ length: img.height }, (_, y) => Array.from(img.data.subarray(y * img.width * img.channels, (y + 1) * img.width * img.channels)));

describe('axisTaps (one axis, worked by hand)', () => {
  it.each<[string, number, number, { index: number[]; weight: number[] }[]]>([
    // Enlarging 2 -> 4, half-pixel centres: source x = (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    ['2 -> 4 bilinear', 2, 4, [{ index: [0], weight: [1] }, { index: [0, 1], weight: [0.75, 0.25] }, { index: [0, 1], weight: [0.25, 0.75] }, { index: [1], weight: [1] }]],
    // Shrinking 3 -> 2: output 0 covers [0, 1.5): pixel 0 fully, pixel 1 half; weights 1/1.5 and 0.5/1.5.
    ['3 -> 2 area', 3, 2, [{ index: [0, 1], weight: [2 / 3, 1 / 3] }, { index: [1, 2], weight: [1 / 3, 2 / 3] }]],
    ['4 -> 2 area', 4, 2, [{ index: [0, 1], weight: [0.5, 0.5] }, { index: [2, 3], weight: [0.5, 0.5] }]],
    ['3 -> 3 identity', 3, 3, [{ index: [0], weight: [1] }, { index: [1], weight: [1] }, { index: [2], weight: [1] }]],
  ])('%s', (_name, inp, out, expected) => {
    const taps = axisTaps(inp, out);
    expect(taps.map((t) => t.index)).toEqual(expected.map((t) => t.index));
    taps.forEach((t, i) => t.weight.forEach((w, k) => expect(w).toBeCloseTo(expected[i]!.weight[k]!, 12)));
  });
});

describe('resizeImage', () => {
  it.each<[string, number[][], [number, number], number[][]]>([
    ['enlarge a row 2 -> 4', [[0, 4]], [1, 4], [[0, 1, 3, 4]]],
    ['shrink a row 3 -> 2 (area)', [[0, 3, 6]], [1, 2], [[1, 5]]],
    ['shrink 2x2 -> 1x1 is the mean', [[0, 10], [20, 30]], [1, 1], [[15]]],
    ['enlarge a column 2 -> 4', [[0], [8]], [4, 1], [[0], [2], [6], [8]]],
    // Shrink by 4 in x: a plain bilinear filter would read only 2 of the 8 values.
    ['shrink 1x8 -> 1x2 averages every pixel', [[0, 0, 0, 8, 8, 0, 0, 0]], [1, 2], [[2, 2]]],
  ])('%s', (_name, rows, [h, w], expected) => {
    const out = resizeImage(grey(rows), h, w);
    rowsOf(out).forEach((row, y) => row.forEach((v, x) => expect(v).toBeCloseTo(expected[y]![x]!, 5)));
    expect([out.height, out.width]).toEqual([h, w]);
  });

  it('resizes channels independently', () => {
    const rgb: FloatImage = { height: 1, width: 2, channels: 3, data: Float32Array.from([0, 10, 100, 2, 20, 200]) };
    expect(Array.from(resizeImage(rgb, 1, 1).data)).toEqual([1, 15, 150]);
  });
});

describe('fitImage', () => {
  // 2 rows x 4 columns.
  const wide = grey([
    [0, 2, 4, 6],
    [10, 12, 14, 16],
  ]);
  it.each<[ResizeMode, [number, number], number[][]]>([
    // crop: the shorter side (2 rows) already fits; cut columns 1..2 from the centre.
    ['crop', [2, 2], [[2, 4], [12, 14]]],
    // crop into 1x1: scale 0.5 -> 1x2 ([[6, 10]]: area means of 2x2 blocks), then the centre column floor((2-1)/2) = 0.
    ['crop', [1, 1], [[6]]],
    // pad: the longer side (4 columns) fits 2 at scale 0.5 -> 1x2 = [[6, 10]]; placed at row floor((2-1)/2) = 0, row 1 padded with 0.
    ['pad', [2, 2], [[6, 10], [0, 0]]],
    // stretch: each side scaled on its own: 2 -> 1 rows, 4 -> 2 columns.
    ['stretch', [1, 2], [[6, 10]]],
    ['stretch', [1, 1], [[8]]],
  ])('%s to %j', (mode, [h, w], expected) => {
    const out = fitImage(wide, h, w, mode);
    expect([out.height, out.width]).toEqual([h, w]);
    rowsOf(out).forEach((row, y) => row.forEach((v, x) => expect(v).toBeCloseTo(expected[y]![x]!, 5)));
  });

  it('pad centres a tall image between black columns', () => {
    // 4 rows x 2 columns into 4x4: scale 1, columns placed at floor((4-2)/2) = 1.
    const tall = grey([[1, 2], [3, 4], [5, 6], [7, 8]]);
    expect(rowsOf(fitImage(tall, 4, 4, 'pad'))).toEqual([[0, 1, 2, 0], [0, 3, 4, 0], [0, 5, 6, 0], [0, 7, 8, 0]]);
  });

  it('placeWindow fills outside the source with 0', () => {
    expect(rowsOf(placeWindow(grey([[1, 2], [3, 4]]), -1, 1, 3, 2))).toEqual([[0, 0], [2, 0], [4, 0]]);
  });
});
