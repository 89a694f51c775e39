import { csvLoader } from '../../src/data/csv.js';
import type { CsvOptions } from '../../src/data/csv.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { DataError } from '../../src/data/errors.js';
import { caught, useTempDir } from './helpers.js';

const tmp = useTempDir();
const ctx = () => ({ baseDir: tmp.dir, hashes: new FileHashCache() });
const load = (file: string, o: Partial<CsvOptions> = {}) => csvLoader.load({ file, ...o }, ctx());

const IRIS = ['sepal_len,sepal_wid,species', '5.1,3.5,0', '4.9,3.0,0', '7.0,3.2,1', '6.3,3.3,2', ''].join('\n');

beforeAll(() => {
  tmp.write('iris.csv', IRIS);
});

describe('csv loader', () => {
  it.each<[string, string, Partial<CsvOptions>, number[], number[], number]>([
    ['header auto-detected, label = last column', IRIS, {}, [5.1, 3.5, 4.9, 3.0, 7.0, 3.2, 6.3, 3.3], [0, 0, 1, 2], 3],
    ['label by header name', IRIS, { label: 'species' }, [5.1, 3.5, 4.9, 3.0, 7.0, 3.2, 6.3, 3.3], [0, 0, 1, 2], 3],
    ['label by index, first column', '1,0.5,0.25\n0,1.5,2.5\n', { label: 0 }, [0.5, 0.25, 1.5, 2.5], [1, 0], 2],
    ['negative index counts from the end', '0.5,1,0.25\n1.5,0,2.5\n', { label: -2 }, [0.5, 0.25, 1.5, 2.5], [1, 0], 2],
    ['no header (auto), CRLF line ends, blank lines', '1,2,0\r\n\r\n3,4,1\r\n', {}, [1, 2, 3, 4], [0, 1], 2],
    ['quoted numbers and spaces', '"a","b","y"\n "1.5" , "-2e1" ,"1"\n', {}, [1.5, -20], [1], 2],
    ['semicolon delimiter', 'a;b;y\n1;2;0\n3;4;1\n', { delimiter: ';' }, [1, 2, 3, 4], [0, 1], 2],
    ['tab delimiter', 'a\tb\ty\n1\t2\t0\n', { delimiter: '\t' }, [1, 2], [0], 1],
    ['header: true for an all-numeric first row', '10,20,30\n1,2,0\n', { header: true }, [1, 2], [0], 1],
    ['explicit classes', '1,2,0\n', { classes: 4 }, [1, 2], [0], 4],
  ])('%s', async (_name, text, o, x, y, classes) => {
    tmp.write('t.csv', text);
    const ds = await load('t.csv', o);
    expect(Array.from(ds.x)).toEqual(x.map(Math.fround));
    expect(Array.from(ds.y)).toEqual(y);
    expect(ds).toMatchObject({ count: y.length, shape: [x.length / y.length], classes, name: 'csv:t.csv' });
  });

  it('normalize: unit is min-max per feature', async () => {
    const ds = await load('iris.csv', { normalize: 'unit' });
    // sepal_len 4.9..7.0, sepal_wid 3.0..3.5
    const expected = [(5.1 - 4.9) / 2.1, 1, 0, 0, 1, 0.4, (6.3 - 4.9) / 2.1, 0.6];
    expected.forEach((v, i) => expect(ds.x[i]).toBeCloseTo(v, 5));
  });

  it('normalize: standard gives zero mean and unit variance per feature; constant features become 0', async () => {
    tmp.write('s.csv', '1,7,0\n3,7,1\n5,7,0\n');
    const ds = await load('s.csv', { normalize: 'standard' });
    const s = Math.sqrt(8 / 3);
    [-2 / s, 0, 0, 0, 2 / s, 0].forEach((v, i) => expect(ds.x[i]).toBeCloseTo(v, 5));
  });

  it('split: seeded, disjoint parts that cover the file, sharing classes', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${i},${i % 4}`).join('\n');
    tmp.write('split.csv', rows);
    const part = (take: 'train' | 'test', seed = 3) => load('split.csv', { split: { test: 0.25, seed, take } });
    const [train, test] = await Promise.all([part('train'), part('test')]);
    expect(test.count).toBe(5);
    expect(train.count).toBe(15);
    const ids = [...Array.from(train.x), ...Array.from(test.x)].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(train.classes).toBe(4);
    expect(test.classes).toBe(4);
    expect(Array.from((await part('test')).x)).toEqual(Array.from(test.x));
    expect(Array.from((await part('test', 4)).x)).not.toEqual(Array.from(test.x));
    expect(train.fingerprint).not.toBe(test.fingerprint);
    expect(test.name).toBe('csv:split.csv:test');
  });

  it('fingerprint: stable, equal to load(), changes with one byte and with options', async () => {
    tmp.write('fp.csv', IRIS);
    const a = await load('fp.csv');
    expect((await load('fp.csv')).fingerprint).toBe(a.fingerprint);
    expect(await csvLoader.fingerprint({ file: 'fp.csv', header: 'auto', delimiter: ',', label: -1, normalize: 'none' }, ctx())).toBe(a.fingerprint);
    expect(await csvLoader.fingerprint({ file: 'fp.csv', normalize: 'unit' }, ctx())).not.toBe(a.fingerprint);
    tmp.write('fp.csv', IRIS.replace('5.1', '5.2'));
    expect(await csvLoader.fingerprint({ file: 'fp.csv' }, ctx())).not.toBe(a.fingerprint);
  });
});

describe('csv errors', () => {
  const cases: [string, string | undefined, Partial<CsvOptions>, string, Record<string, unknown>][] = [
    ['missing file', undefined, { file: 'missing.csv' }, 'missing.csv: no such file: {dir}/missing.csv', { code: 'file-not-found' }],
    ['a row with too few fields', 'a,b,y\n1,2,0\n3,4\n', {}, 'e.csv:3: expected 3 fields, found 2', { code: 'field-count', line: 3 }],
    [
      'a row with too many fields (quoted delimiter)',
      'a,b,y\n"1,5",2,0\n',
      {},
      'e.csv:2: expected 3 fields, found 4',
      { code: 'field-count', line: 2, hint: 'a quoted field containing the delimiter is not supported' },
    ],
    ['a non-numeric feature', 'a,b,y\n1,2,0\n3, abc,1\n', {}, 'e.csv:3:4: field 2 ("abc") is not a number', { code: 'not-a-number', line: 3, column: 4 }],
    ['an empty feature', 'a,b,y\n1,,0\n', {}, 'e.csv:2:3: field 2 ("") is not a number', { code: 'not-a-number', line: 2, column: 3 }],
    // Infinity is refused by the number pattern; 1e999 and 1e39 pass it and overflow float32 to Infinity (a NaN model).
    ['a feature that overflows to Infinity', 'a,b,y\n1,1e999,0\n', {}, 'e.csv:2:3: field 2 ("1e999") is too large for float32 (|x| < 3.4e38)', { code: 'not-a-number', line: 2, column: 3 }],
    ['a feature beyond float32', 'a,b,y\n-1e39,1,0\n', {}, 'e.csv:2:1: field 1 ("-1e39") is too large for float32 (|x| < 3.4e38)', { code: 'not-a-number', line: 2, column: 1 }],
    ['hex is not a number', 'a,b,y\n0x1F,2,0\n', {}, 'e.csv:2:1: field 1 ("0x1F") is not a number', { code: 'not-a-number', line: 2, column: 1 }],
    [
      'a header given header: false',
      'a,b,y\n1,2,0\n',
      { header: false },
      'e.csv:1:1: field 1 ("a") is not a number',
      { code: 'not-a-number', hint: 'is the first row a header? set `header: true`' },
    ],
    [
      'a class name as label',
      'a,y\n1,setosa\n',
      {},
      'e.csv:2:3: label "setosa" is not a number',
      { code: 'not-a-number', hint: 'labels must be class indices 0, 1, 2, ...: map class names to integers first' },
    ],
    ['a fractional label', 'a,y\n1,0\n2,1.5\n', {}, 'e.csv:3:3: label 1.5 is out of range (labels are class indices >= 0)', { code: 'label-out-of-range', line: 3, column: 3 }],
    ['a negative label', 'a,y\n1,-1\n', {}, 'e.csv:2:3: label -1 is out of range (labels are class indices >= 0)', { code: 'label-out-of-range' }],
    ['a label >= classes', 'a,y\n1,0\n2,3\n', { classes: 3 }, 'e.csv:3:3: label 3 is out of range (expected 0..2)', { code: 'label-out-of-range', line: 3, column: 3 }],
    ['an unknown label column', 'a,b,y\n1,2,0\n', { label: 'z' }, 'e.csv:1: no column "z" in the header (columns: a, b, y)', { code: 'bad-option', line: 1 }],
    [
      'a label name without a header',
      '1,2,0\n',
      { label: 'y' },
      'e.csv:1: label column "y" needs a header row, but the first row is data',
      { code: 'bad-option', hint: 'give the label as a column index instead, e.g. `label: -1`' },
    ],
    ['a label index out of range', '1,2,0\n', { label: 3 }, 'e.csv:1: label column 3 does not exist: rows have 3 fields (0..2, or -3..-1 from the end)', { code: 'bad-option' }],
    ['an empty file', '\n\n', {}, 'e.csv: no data rows', { code: 'empty' }],
    ['only a header', 'a,b,y\n', {}, 'e.csv: no data rows', { code: 'empty' }],
    [
      'a split that leaves a part empty',
      '1,0\n2,1\n3,0\n',
      { split: { test: 0.1, take: 'test' } },
      'e.csv: split leaves no rows for `test` (3 rows, test fraction 0.1)',
      { code: 'empty' },
    ],
  ];

  it.each(cases)('%s', async (_name, text, o, message, fields) => {
    if (text !== undefined) tmp.write('e.csv', text);
    const err = await caught(() => load('e.csv', o));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(message.replace('{dir}', tmp.dir));
    expect(err).toMatchObject(fields);
  });
});
