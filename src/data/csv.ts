/**
 * `csv`: a table of numeric features plus an integer label column.
 *
 * Scope, on purpose: numbers only (tabular classification data such as iris
 * exported with integer classes). A field may be wrapped in double quotes
 * (`"5.1"`, as spreadsheets export), but a quoted field containing the
 * delimiter is not supported. Errors give line and column, 1-based, as an
 * editor shows them.
 *
 * Train and test data: either declare two datasets, one per file
 *
 *   data:
 *     train: { uses: csv, file: ./iris-train.csv }
 *     test:  { uses: csv, file: ./iris-test.csv }
 *
 * or split one file with the same `split.test` and `split.seed` in both
 * entries and a different `split.take`: the split is a seeded shuffle of the
 * row indices, so the two parts are disjoint and together cover the file.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Dataset } from './dataset.js';
import { describeLoaded } from './describe.js';
import { splitIndices } from './dataset.js';
import { DataError } from './errors.js';
import { datasetFingerprint } from './fingerprint.js';
import { isValidLabel, labelRangeText, maxLabel } from './labels.js';
import type { DatasetLoader, LoadContext } from './loader.js';
import { defineLoader, resolveLoaderOptions } from './loader.js';
import type { NormalizeMode, StatsSource } from './normalize.js';
import { normalizeInPlace, normalizeSchema, statsSchema } from './normalize.js';
import type { SourceFile } from './source.js';
import { sourceFile, statSource } from './source.js';

/** `csv` loader options as written in a recipe. */
export interface CsvOptions {
  /** The CSV file, relative to the recipe. */
  file: string;
  /** Label column: a header name, or an index (negative counts from the end). Default -1: the last column. */
  label?: string | number;
  /** Whether the first row is a header. Default `auto`: it is when any of its fields is not a number. */
  header?: boolean | 'auto';
  /** Field separator, one character. Default `,`. */
  delimiter?: string;
  /** Use a seeded part of the file; absent: all rows. */
  split?: { test: number; seed?: number; take: 'train' | 'test' };
  /** Default `none`; `unit` is min-max per feature. */
  normalize?: NormalizeMode;
  stats?: StatsSource;
  /** Number of classes. Default: largest label in the whole file + 1. */
  classes?: number;
}

export const csvSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: {
    file: { type: 'string', minLength: 1, description: 'The CSV file, relative to the recipe. For separate train and test files, declare two datasets.' },
    label: {
      type: ['string', 'integer'],
      default: -1,
      description: 'The label column: a header name, or a 0-based index where negative counts from the end (-1, the default, is the last column). Labels must be integers >= 0.',
    },
    header: {
      enum: [true, false, 'auto'],
      default: 'auto',
      description: 'Whether the first row names the columns. `auto`: yes when any field of the first row is not a number.',
    },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, default: ',', description: 'Field separator, one character (e.g. `;`, or "\\t" for TSV).' },
    split: {
      type: 'object',
      additionalProperties: false,
      required: ['test', 'take'],
      description: 'Take a seeded part of the rows: declare two datasets with the same `test` and `seed` and `take: train` / `take: test`. Absent: every row.',
      properties: {
        test: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Fraction of the rows in the test part (rounded to whole rows).' },
        seed: { type: 'integer', default: 0, description: 'Seed of the shuffle that picks the test rows.' },
        take: { enum: ['train', 'test'], description: 'Which part this dataset is.' },
      },
    },
    normalize: normalizeSchema('none'),
    stats: statsSchema,
    classes: {
      type: 'integer',
      minimum: 1,
      description: 'Number of classes; a label >= classes is an error. Default: the largest label in the file + 1 (the whole file, so both parts of a split agree).',
    },
  },
} as const;

type ResolvedCsv = Required<Omit<CsvOptions, 'split' | 'classes'>> &
  Pick<CsvOptions, 'classes'> & { label: string | number; split?: { test: number; seed: number; take: 'train' | 'test' } };

/** A decimal number, optionally signed, with optional exponent. Not `Number()`: it accepts '', '0x1F', 'Infinity'. */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Field {
  text: string;
  /** 1-based column of the field's first non-blank character. */
  column: number;
}

interface Row {
  line: number;
  fields: Field[];
}

/** Splits into rows of trimmed, unquoted fields; blank lines are skipped but keep their line numbers. */
function parseRows(text: string, delimiter: string): Row[] {
  const rows: Row[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '') continue;
    const fields: Field[] = [];
    let start = 0;
    for (const raw of line.split(delimiter)) {
      const lead = raw.length - raw.trimStart().length;
      let t = raw.trim();
      if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1).replaceAll('""', '"').trim();
      fields.push({ text: t, column: start + lead + 1 });
      start += raw.length + delimiter.length;
    }
    rows.push({ line: li + 1, fields });
  }
  return rows;
}

/** Parses the table: features (row-major float32) and labels, with every check that names a line. */
export function parseCsv(text: string, src: SourceFile, o: Pick<ResolvedCsv, 'label' | 'header' | 'delimiter' | 'classes'>) {
  const rows = parseRows(text, o.delimiter);
  const first = rows[0];
  if (!first) throw new DataError('no data rows', { code: 'empty', file: src.label });
  const width = first.fields.length;
  const hasHeader = o.header === 'auto' ? first.fields.some((f) => !NUMBER.test(f.text)) : o.header;
  const names = hasHeader ? first.fields.map((f) => f.text) : undefined;
  const labelCol = labelColumn(o.label, width, names, src, first.line);
  const data = hasHeader ? rows.slice(1) : rows;
  if (data.length === 0) throw new DataError('no data rows', { code: 'empty', file: src.label });

  const features = width - 1;
  const x = new Float32Array(data.length * features);
  const y = new Int32Array(data.length);
  for (let r = 0; r < data.length; r++) {
    const row = data[r]!;
    if (row.fields.length !== width) {
      throw new DataError(`expected ${width} fields, found ${row.fields.length}`, {
        code: 'field-count',
        file: src.label,
        line: row.line,
        ...(row.fields.some((f) => f.text.includes('"')) ? { hint: 'a quoted field containing the delimiter is not supported' } : {}),
      });
    }
    let k = r * features;
    for (let c = 0; c < width; c++) {
      const f = row.fields[c]!;
      if (!NUMBER.test(f.text)) {
        const what = c === labelCol ? `label ${JSON.stringify(f.text)}` : `field ${c + 1} (${JSON.stringify(f.text)})`;
        throw new DataError(`${what} is not a number`, {
          code: 'not-a-number',
          file: src.label,
          line: row.line,
          column: f.column,
          ...(c === labelCol
            ? { hint: 'labels must be class indices 0, 1, 2, ...: map class names to integers first' }
            : r === 0 && o.header === false
              ? { hint: 'is the first row a header? set `header: true`' }
              : {}),
        });
      }
      const v = Number(f.text);
      // `1e999` (or 1e39, beyond float32) matches the pattern but becomes Infinity in
      // the Float32Array, and a model trained on it is NaN: refused like `Infinity`.
      if (c !== labelCol && !Number.isFinite(Math.fround(v))) {
        throw new DataError(`field ${c + 1} (${JSON.stringify(f.text)}) is too large for float32 (|x| < 3.4e38)`, { code: 'not-a-number', file: src.label, line: row.line, column: f.column });
      }
      if (c === labelCol) {
        if (!isValidLabel(v, o.classes)) {
          throw new DataError(`label ${f.text} is out of range (${labelRangeText(o.classes)})`, { code: 'label-out-of-range', file: src.label, line: row.line, column: f.column });
        }
        y[r] = v;
      } else {
        x[k++] = v;
      }
    }
  }
  return { x, y, count: data.length, features };
}

function labelColumn(label: string | number, width: number, names: string[] | undefined, src: SourceFile, line: number): number {
  if (typeof label === 'number') {
    const col = label < 0 ? width + label : label;
    if (col < 0 || col >= width) {
      throw new DataError(`label column ${label} does not exist: rows have ${width} fields (0..${width - 1}, or -${width}..-1 from the end)`, {
        code: 'bad-option',
        file: src.label,
        line,
      });
    }
    return col;
  }
  if (!names) {
    throw new DataError(`label column "${label}" needs a header row, but the first row is data`, {
      code: 'bad-option',
      file: src.label,
      line,
      hint: 'give the label as a column index instead, e.g. `label: -1`',
    });
  }
  const col = names.indexOf(label);
  if (col < 0) {
    throw new DataError(`no column "${label}" in the header (columns: ${names.join(', ')})`, { code: 'bad-option', file: src.label, line });
  }
  return col;
}

export const csvLoader: DatasetLoader<CsvOptions> = defineLoader<CsvOptions>({
  name: 'csv',
  version: '1',
  description: 'A CSV table of numeric features and an integer label column.',
  schema: csvSchema,
  fileOptions: ['file'],
  async load(options, ctx) {
    const { o, src, fingerprint } = await prepare(options, ctx);
    await statSource(src);
    const text = await readFile(src.path, 'utf8');
    const table = parseCsv(text, src, o);
    const classes = o.classes ?? maxLabel(table.y) + 1;
    let x: Float32Array = table.x;
    let y: Int32Array = table.y;
    let count = table.count;
    if (o.split) {
      const { kept, held } = splitIndices(count, o.split.test, o.split.seed);
      const rows = o.split.take === 'test' ? held : kept;
      if (rows.length === 0) {
        throw new DataError(`split leaves no rows for \`${o.split.take}\` (${count} rows, test fraction ${o.split.test})`, { code: 'empty', file: src.label });
      }
      ({ x, y } = pick(table.x, table.y, table.features, rows));
      count = rows.length;
    }
    normalizeInPlace(x, table.features, o.normalize);
    const ds: Dataset = {
      name: ctx.name ?? `csv:${basename(o.file)}${o.split ? `:${o.split.take}` : ''}`,
      x,
      y,
      count,
      shape: [table.features],
      classes,
      fingerprint,
    };
    return ds;
  },
  async fingerprint(options, ctx) {
    return (await prepare(options, ctx)).fingerprint;
  },
  // Finding the classes means scanning the label column, which for CSV is
  // parsing the text: a load is the cheapest honest describe.
  async describe(options, ctx) {
    return describeLoaded(await csvLoader.load(options, ctx));
  },
});

function pick(x: Float32Array, y: Int32Array, features: number, rows: Int32Array): { x: Float32Array; y: Int32Array } {
  const px = new Float32Array(rows.length * features);
  const py = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    px.set(x.subarray(r * features, (r + 1) * features), i * features);
    py[i] = y[r]!;
  }
  return { x: px, y: py };
}

async function prepare(options: CsvOptions, ctx: LoadContext) {
  const o = resolveLoaderOptions<ResolvedCsv>(csvLoader, options);
  const src = sourceFile(o.file, ctx.baseDir);
  const { file: _f, ...identity } = o;
  const fingerprint = await datasetFingerprint(csvLoader, identity, { file: src }, ctx.hashes);
  return { o, src, fingerprint };
}
