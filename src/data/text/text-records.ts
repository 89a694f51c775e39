/**
 * Labelled text files, read into records that remember where they came
 * from (so a bad label is reported at its line and column).
 *
 * Two forms, chosen by `format` (`auto`: `.csv` is csv, anything else tsv):
 *
 * - `tsv`: one example per line, `label<TAB>text`. The label is everything
 *   before the first tab, the text everything after it (further tabs are
 *   text). The form fastText and many corpora use, and what `cut`/`paste`
 *   make; no quoting needed because the text ends at the newline.
 * - `csv`: a header row naming the columns, then one example per record;
 *   `textColumn` (default `text`) and `labelColumn` (default `label`) pick
 *   the two columns, others are ignored. RFC 4180 quoting: a field in
 *   double quotes may hold the delimiter, newlines and `""` for a quote,
 *   which real text needs (what spreadsheets and pandas `to_csv` write).
 *
 * Blank lines are skipped (keeping line numbers), a UTF-8 byte-order mark
 * is ignored.
 */
import { DataError } from '../errors.js';
import type { SourceFile } from '../source.js';

export interface TextRecord {
  label: string;
  text: string;
  /** 1-based line of the record's first character. */
  line: number;
  /** 1-based column of the label field. */
  labelColumn: number;
}

export type TextFormat = 'tsv' | 'csv';

export interface RecordOptions {
  format: TextFormat;
  /** csv only. */
  textColumn: string;
  /** csv only. */
  labelColumn: string;
  /** csv only: one character. */
  delimiter: string;
}

/** `auto` resolved by the file name. */
export function formatOf(format: TextFormat | 'auto', file: string): TextFormat {
  if (format !== 'auto') return format;
  return file.toLowerCase().endsWith('.csv') ? 'csv' : 'tsv';
}

export function parseTextRecords(content: string, src: SourceFile, o: RecordOptions): TextRecord[] {
  const text = content.replace(/^\uFEFF/, '');
  return o.format === 'tsv' ? parseTsv(text, src) : parseCsvRecords(text, src, o);
}

function parseTsv(text: string, src: SourceFile): TextRecord[] {
  const out: TextRecord[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const tab = raw.indexOf('\t');
    if (tab < 0) {
      throw new DataError('no tab: expected `label<TAB>text`', {
        code: 'field-count',
        file: src.label,
        line: i + 1,
        column: 1,
        hint: 'separate the label from the text with a tab, or give a CSV file with `format: csv` and a header naming `textColumn` and `labelColumn`',
      });
    }
    const label = raw.slice(0, tab).trim();
    const lead = raw.length - raw.trimStart().length;
    if (label === '') throw new DataError('empty label before the tab', { code: 'field-count', file: src.label, line: i + 1, column: 1 });
    out.push({ label, text: raw.slice(tab + 1), line: i + 1, labelColumn: lead + 1 });
  }
  return out;
}

interface Field {
  value: string;
  line: number;
  column: number;
}

/** RFC 4180 records: fields with their start positions; blank lines skipped. */
function csvRecords(text: string, src: SourceFile, delimiter: string): Field[][] {
  const records: Field[][] = [];
  let line = 1;
  let col = 1;
  let i = 0;
  const n = text.length;
  const advance = (ch: string) => {
    if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) {
      line++;
      col = 1;
    } else if (ch !== '\r') col++;
  };
  while (i < n) {
    // A record starts here; skip blank lines.
    if (text[i] === '\n' || text[i] === '\r') {
      advance(text[i]!);
      i++;
      continue;
    }
    const record: Field[] = [];
    for (;;) {
      const start = { line, column: col };
      let value = '';
      if (text[i] === '"') {
        advance('"');
        i++;
        for (;;) {
          if (i >= n) throw new DataError('a quoted field is never closed', { code: 'field-count', file: src.label, line: start.line, column: start.column, hint: 'close it with `"`; write a quote inside a quoted field as `""`' });
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              advance('"');
              advance('"');
              i += 2;
              continue;
            }
            advance('"');
            i++;
            break;
          }
          value += ch;
          advance(ch);
          i++;
        }
        if (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
          throw new DataError(`unexpected ${JSON.stringify(text[i])} after a closing quote`, { code: 'field-count', file: src.label, line, column: col, hint: 'a quoted field ends at its closing quote; write a quote inside it as `""`' });
        }
      } else {
        while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
          value += text[i]!;
          advance(text[i]!);
          i++;
        }
      }
      record.push({ value, ...start });
      if (i < n && text[i] === delimiter) {
        advance(delimiter);
        i++;
        continue;
      }
      break;
    }
    records.push(record);
  }
  return records;
}

function parseCsvRecords(text: string, src: SourceFile, o: RecordOptions): TextRecord[] {
  const rows = csvRecords(text, src, o.delimiter);
  const header = rows[0];
  if (!header) return [];
  const names = header.map((f) => f.value.trim());
  const column = (name: string, option: string): number => {
    const c = names.indexOf(name);
    if (c < 0) {
      throw new DataError(`no column "${name}" in the header (columns: ${names.join(', ')})`, {
        code: 'bad-option',
        file: src.label,
        line: header[0]!.line,
        column: 1,
        option,
        hint: `set \`${option}\` to the header name of the ${option === 'textColumn' ? 'text' : 'label'} column`,
      });
    }
    return c;
  };
  const t = column(o.textColumn, 'textColumn');
  const l = column(o.labelColumn, 'labelColumn');
  const out: TextRecord[] = [];
  for (const row of rows.slice(1)) {
    if (row.length !== names.length) {
      throw new DataError(`${row.length} field${row.length === 1 ? '' : 's'}, but the header has ${names.length}`, {
        code: 'field-count',
        file: src.label,
        line: row[0]!.line,
        column: 1,
        hint: 'quote fields that contain the delimiter: "like, this"',
      });
    }
    const label = row[l]!;
    if (label.value.trim() === '') throw new DataError('empty label', { code: 'field-count', file: src.label, line: label.line, column: label.column });
    out.push({ label: label.value.trim(), text: row[t]!.value, line: row[0]!.line, labelColumn: label.column });
  }
  return out;
}
