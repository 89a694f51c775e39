import { convertChannels, decodeImage, ImageDecodeError, sniffImageFormat } from '../../src/data/image-decode.js';
import { thrownBy } from './helpers.js';
import { fixtureBytes, mnistDigit, SOURCES } from './image-fixtures.js';

/** Largest absolute difference between two equally long byte arrays. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('decodeImage on the committed MNIST fixtures', () => {
  it.each(['folders/zero/a.png', 'folders/one/a.png', 'unlabelled/c.png'])('grey PNG %s equals its source digit exactly', (rel) => {
    const img = decodeImage(fixtureBytes(rel), 1);
    expect([img.width, img.height, img.channels]).toEqual([28, 28, 1]);
    expect(Array.from(img.data)).toEqual(Array.from(mnistDigit(SOURCES[rel]!.mnistTestIndex)));
  });

  it('a grey PNG as 3 channels repeats the grey value', () => {
    const img = decodeImage(fixtureBytes('folders/zero/a.png'), 3);
    const digit = mnistDigit(SOURCES['folders/zero/a.png']!.mnistTestIndex);
    expect(Array.from(img.data)).toEqual(Array.from(digit).flatMap((v) => [v, v, v]));
  });

  it('the colour PNG keeps its channels (orange: R = v, G = round(v / 2), B = 0), and as grey is BT.601 luma', () => {
    const rel = 'folders/seven/a.png';
    const digit = mnistDigit(SOURCES[rel]!.mnistTestIndex);
    const rgb = decodeImage(fixtureBytes(rel), 3);
    const grey = decodeImage(fixtureBytes(rel), 1);
    expect(Array.from(rgb.data)).toEqual(Array.from(digit).flatMap((v) => [v, Math.round(v * 0.5), 0]));
    expect(Array.from(grey.data)).toEqual(Array.from(digit).map((v) => Math.round(0.299 * v + 0.587 * Math.round(v * 0.5))));
  });

  it.each(['folders/zero/b.jpg', 'folders/one/b.jpg', 'folders/seven/b.jpg'])('JPEG %s is within the lossy tolerance of its source digit', (rel) => {
    const img = decodeImage(fixtureBytes(rel), 1);
    const digit = mnistDigit(SOURCES[rel]!.mnistTestIndex);
    // Quality 90 on hard black/white edges: a few pixels ring by tens of
    // levels, the average stays within a couple of levels.
    expect(maxDiff(img.data, digit)).toBeLessThan(64);
    let sum = 0;
    for (let i = 0; i < 784; i++) sum += Math.abs(img.data[i]! - digit[i]!);
    expect(sum / 784).toBeLessThan(3);
  });

  it('tells the format by the bytes, not the name: a PNG called .jpg decodes', () => {
    const bytes = fixtureBytes('unlabelled/really-png.jpg');
    expect(sniffImageFormat(bytes)).toBe('png');
    expect(Array.from(decodeImage(bytes, 1).data)).toEqual(Array.from(mnistDigit(SOURCES['unlabelled/really-png.jpg']!.mnistTestIndex)));
  });

  it.each<[string, Uint8Array, string]>([
    ['a truncated JPEG', fixtureBytes('corrupt/seven/truncated.jpg'), 'JPEG decoder: unknown JPEG marker 0'],
    ['a text file', new TextEncoder().encode('hello'), 'not a JPEG or PNG file (first bytes 0x68656c6c)'],
    ['an empty file', new Uint8Array(0), 'not a JPEG or PNG file (first bytes 0x(empty))'],
    ['a GIF', new TextEncoder().encode('GIF89a\x01\x00'), 'not a JPEG or PNG file (first bytes 0x47494638)'],
    ['a truncated PNG', fixtureBytes('folders/zero/a.png').subarray(0, 60), 'PNG decoder: There are some read requests waitng on finished stream'],
  ])('%s is an ImageDecodeError', (_name, bytes, message) => {
    const err = thrownBy(() => decodeImage(bytes, 3));
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect(err.message).toBe(message);
  });

  it('a PNG claiming more than 64 megapixels is refused before decoding', () => {
    const bytes = fixtureBytes('folders/zero/a.png').slice();
    new DataView(bytes.buffer).setUint32(16, 100000);
    new DataView(bytes.buffer).setUint32(20, 100000);
    expect(thrownBy(() => decodeImage(bytes, 1)).message).toBe('PNG claims 100000x100000 pixels, more than 64 megapixels');
  });
});

describe('convertChannels', () => {
  it.each<[string, number[], number, 1 | 3, number[]]>([
    ['grey -> rgb', [10, 200], 1, 3, [10, 10, 10, 200, 200, 200]],
    ['rgba -> rgb drops alpha', [1, 2, 3, 0, 4, 5, 6, 255], 4, 3, [1, 2, 3, 4, 5, 6]],
    ['rgb -> grey is BT.601 luma', [255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100], 3, 1, [76, 150, 29, 100]],
    ['rgba -> grey', [0, 0, 255, 7], 4, 1, [29]],
  ])('%s', (_name, input, from, to, expected) => {
    expect(Array.from(convertChannels(Uint8Array.from(input), input.length / from, from, to))).toEqual(expected);
  });
});
