/**
 * Diagnostics: the value every expected failure becomes (bad recipe, missing
 * preset, unknown stage...). Exceptions are reserved for bugs, so code that
 * can fail because of user input returns diagnostics instead of throwing.
 */

/** Stable, documented codes; tests and users match on these, never on text. */
export const DIAGNOSTIC_CODES = [
  'yaml-syntax',
  'yaml-alias-limit',
  'yaml-too-deep',
  'file-too-large',
  'file-not-found',
  'file-unreadable',
  'not-a-mapping',
  'unknown-key',
  'missing-key',
  'wrong-type',
  'bad-value',
  'out-of-range',
  'unknown-stage',
  'duplicate-stage-id',
  'unknown-need',
  'bad-upstream',
  'unknown-var',
  'unknown-matrix-key',
  'bad-interpolation',
  'preset-not-found',
  'extends-cycle',
  'bad-override',
  'plugin-error',
  'dependency-cycle',
  'unknown-loader',
  'unknown-dataset',
  'data-error',
  'stage-config',
  'shape-mismatch',
  'classes-mismatch',
] as const;

export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

/** A place in a source file. Lines and columns are 1-based, like editors show them. */
export interface SourceLoc {
  /** Path of the file as the user named it (or a pseudo-file such as `<--set>`). */
  file: string;
  line: number;
  column: number;
  /** The full text of the line, so a printer can draw a caret without re-reading the file. */
  sourceLine: string;
  /** How many characters the offending span covers on that line (at least 1). */
  length: number;
}

export interface Diagnostic {
  code: DiagnosticCode;
  message: string;
  /** Key path in the recipe, e.g. `stages[2].with.sparsity`; empty for file-level errors. */
  path: string;
  /** Where to point. Absent only when no file is involved (e.g. a bad CLI flag). */
  loc?: SourceLoc;
  /** Extra lines: what was expected, what to do. */
  hints?: string[];
}

/** A path segment as used by ajv and the YAML tree: map key or list index. */
export type PathSegment = string | number;

/** Renders `['stages', 2, 'with', 'sparsity']` as `stages[2].with.sparsity`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Sort order for printing: by file, then position, so output reads top to bottom. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  const fa = a.loc?.file ?? '';
  const fb = b.loc?.file ?? '';
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (a.loc?.line ?? 0) - (b.loc?.line ?? 0) || (a.loc?.column ?? 0) - (b.loc?.column ?? 0);
}

/**
 * The result of a phase that can fail on user input: either a value or the
 * diagnostics explaining why there is none.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; diagnostics: Diagnostic[] };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(diagnostics: Diagnostic[]): Result<T> {
  return { ok: false, diagnostics };
}
