/**
 * `inspectModel(path)`: the one function behind `modelpress inspect`. It
 * picks the inspector for the path's format (inspectors.ts) and turns what
 * can go wrong with a user's file into diagnostics: a missing path, a path
 * that is no model, a model.json that is not JSON, a shard that is missing
 * or shorter than its manifest, a packed file that is corrupt. Anything else
 * thrown is a bug and propagates.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { ModelIOError } from '../engine/model-io.js';
import { loadTf } from '../engine/tf.js';
import type { Tf } from '../engine/tf.js';
import { PackedFormatError } from '../loader/bytes.js';
import type { Diagnostic } from '../recipe/diagnostic.js';
import { fail, ok, type Result } from '../recipe/diagnostic.js';
import { INSPECTORS, type ModelInspector, type PathInfo } from './inspectors.js';
import type { ModelReport } from './model-report.js';

export interface InspectOptions {
  /**
   * tfjs to instantiate the model with, for the stage checks. Default: tfjs
   * on the `cpu` backend (building a model and reading its weights computes
   * nothing, so the fastest backend to start is the right one).
   */
  tf?: () => Promise<Tf>;
  /** Inspectors to try, in order. Default: `INSPECTORS` (tfjs-layers, packed). */
  inspectors?: readonly ModelInspector[];
}

/** Bytes read from a file for its magic number. */
const HEAD_BYTES = 8;

export async function inspectModel(path: string, options: InspectOptions = {}): Promise<Result<ModelReport>> {
  const inspectors = options.inspectors ?? INSPECTORS;
  const tf = options.tf ?? (() => loadTf('cpu'));
  const what = inspectors.map((i) => i.describes).join(', or ');

  let info: PathInfo;
  try {
    info = await pathInfo(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fail([problem('file-not-found', path, `${path}: no such file or directory`, [`expected ${what}`])]);
    return fail([problem('file-unreadable', path, `${path}: cannot read (${(error as Error).message})`)]);
  }
  const inspector = inspectors.find((i) => i.claims(info));
  if (!inspector) return fail([problem('file-unreadable', path, `${path}: not a model this command reads`, [`expected ${what}`])]);
  try {
    return ok(await inspector.inspect(path, { tf }));
  } catch (error) {
    if (error instanceof ModelIOError) {
      const d = problem('file-unreadable', error.file, error.message, hintsFor(error.message, what));
      return fail([await locateJsonError(d, error)]);
    }
    if (error instanceof PackedFormatError) {
      return fail([problem('file-unreadable', path, `${path}: corrupt packed model (${error.message})`, ['re-create it with the export stage (`format: packed`)'])]);
    }
    throw error;
  }
}

async function pathInfo(path: string): Promise<PathInfo> {
  const s = await stat(path);
  if (s.isDirectory()) return { path, isDirectory: true, head: new Uint8Array(0) };
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
    return { path, isDirectory: false, head: head.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/**
 * A model.json that is not JSON: point at the line and column JSON.parse
 * stopped at (V8 says "at position N"), with the line, as a recipe error would.
 */
async function locateJsonError(d: Diagnostic, error: ModelIOError): Promise<Diagnostic> {
  const position = /at position (\d+)/.exec(String((error.cause as Error | undefined)?.message ?? ''));
  if (!position || !(error.cause instanceof SyntaxError) || !d.loc) return d;
  let text: string;
  try {
    text = await readFile(error.file, 'utf8');
  } catch {
    return d;
  }
  const at = Math.min(Number(position[1]), text.length);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const start = before.lastIndexOf('\n') + 1;
  const end = text.indexOf('\n', start);
  const sourceLine = text.slice(start, end === -1 ? undefined : end);
  // A minified model.json is one long line: then the location alone, no source line to draw a caret under.
  return { ...d, loc: { file: d.loc.file, line, column: at - start + 1, sourceLine: sourceLine.length > 160 ? '' : sourceLine, length: 1 } };
}

function hintsFor(message: string, what: string): string[] {
  if (/manifest describes|weight shard|shards hold/.test(message)) return ['a weight shard is missing, truncated or not the one model.json was written with; copy the model directory again'];
  if (/not a tfjs|no model\.json|not valid JSON|expected a JSON object|no modelTopology|no weightsManifest|not a Keras model topology/.test(message)) return [`expected ${what}`];
  return [];
}

/** A file-level diagnostic: the file is the location (line 1, column 1: no finer place applies). */
function problem(code: Diagnostic['code'], file: string, message: string, hints: string[] = []): Diagnostic {
  // ModelIOError messages start with the file; the location already says it.
  const text = message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
  return { code, message: text, path: '', loc: { file, line: 1, column: 1, sourceLine: '', length: 1 }, ...(hints.length > 0 ? { hints } : {}) };
}
