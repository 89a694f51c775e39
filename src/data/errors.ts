/**
 * DataError: a dataset file is missing or malformed. This is the user's data
 * at fault, not a bug, so the error names the file and the place in it the way
 * an editor or `xxd` would find it:
 *
 *   train.csv:4:9: field 3 ("abc") is not a number      (text: line:column, 1-based)
 *   labels.idx: record 12: label 11 is out of range 0..9  (binary: record index, 0-based like numpy)
 *   images.idx: truncated: expected 7856 bytes, found 7000 (whole file)
 *
 * `code` is stable and documented: callers (the CLI, the runner turning this
 * into a diagnostic) match on it, never on the text.
 */

export const DATA_ERROR_CODES = [
  /** The file does not exist (or is not a regular file). */
  'file-not-found',
  /** The file exists but could not be read (permissions, I/O). */
  'file-unreadable',
  /** The first bytes are not those of the expected format (IDX, NPY). */
  'bad-magic',
  /** The header cannot be parsed or describes an impossible layout. */
  'bad-header',
  /** The file is shorter (or longer) than its header says. */
  'truncated',
  /** NPY: a dtype this loader does not read. */
  'unsupported-dtype',
  /** NPY: Fortran (column-major) order. */
  'fortran-order',
  /** CSV: a row with a different number of fields than the first row. */
  'field-count',
  /** CSV: a feature or label that is not a number. */
  'not-a-number',
  /** A label that is not an integer in 0..classes-1. */
  'label-out-of-range',
  /** Features and labels disagree (record counts or shapes). */
  'mismatch',
  /** No records to load (an empty file, or a header and nothing else). */
  'empty',
  /** A named column, offset or option does not fit the file's content. */
  'bad-option',
  /** Images: a file the JPEG/PNG decoder cannot read (corrupt, truncated, another format). */
  'bad-image',
  /** A value the dataset cannot hold exactly (an integer token id beyond float32's 2^24). */
  'value-out-of-range',
  /** Text: a label that is not one of the training data's classes (or of `classes`). */
  'unknown-label',
] as const;

export type DataErrorCode = (typeof DATA_ERROR_CODES)[number];

export interface DataErrorInfo {
  code: DataErrorCode;
  /** The file as the user named it (recipe-relative), or a short package path for shipped data. */
  file: string;
  /** Text files: 1-based line. */
  line?: number;
  /** Text files: 1-based character column on `line`. */
  column?: number;
  /** Binary files: 0-based record index (as in `x[record]` in numpy). */
  record?: number;
  /** What to do about it, one sentence; kept out of `message` so printers can style it. */
  hint?: string;
  /**
   * The loader option at fault (`path`, `classes`), when the fix is in the
   * recipe rather than the file: a folder with no images, an empty class
   * folder. Planning locates the diagnostic at that option's value.
   */
  option?: string;
  cause?: unknown;
}

export class DataError extends Error {
  readonly code: DataErrorCode;
  readonly file: string;
  // `declare`: no class-field initialisers, so an absent location is absent
  // (`'line' in err` is false), not present as undefined.
  declare readonly line?: number;
  declare readonly column?: number;
  declare readonly record?: number;
  declare readonly hint?: string;
  declare readonly option?: string;
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(detail: string, info: DataErrorInfo) {
    super(`${formatLocation(info)}: ${detail}`, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'DataError';
    this.code = info.code;
    this.file = info.file;
    this.detail = detail;
    if (info.line !== undefined) this.line = info.line;
    if (info.column !== undefined) this.column = info.column;
    if (info.record !== undefined) this.record = info.record;
    if (info.hint !== undefined) this.hint = info.hint;
    if (info.option !== undefined) this.option = info.option;
  }
}

/** `file:line:column`, `file:line`, `file: record N` or `file`. */
export function formatLocation(info: Pick<DataErrorInfo, 'file' | 'line' | 'column' | 'record'>): string {
  if (info.line !== undefined) {
    return info.column !== undefined ? `${info.file}:${info.line}:${info.column}` : `${info.file}:${info.line}`;
  }
  if (info.record !== undefined) return `${info.file}: record ${info.record}`;
  return info.file;
}

export function isDataError(err: unknown): err is DataError {
  return err instanceof DataError;
}
