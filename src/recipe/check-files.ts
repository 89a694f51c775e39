/**
 * Files the recipe names must exist: dataset files (the options each loader
 * lists in `fileOptions`) and `model.from`. Checked by `validate`, so a
 * typo in a path is a located error before anything runs, not a failure of
 * the run (or, for a model, of the first stage that reads it).
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { LoaderCatalog } from '../data/loader.js';
import type { Diagnostic, PathSegment } from './diagnostic.js';
import { formatPath } from './diagnostic.js';
import type { TreeNode } from './tree.js';
import { locate } from './tree.js';

export interface FileCheck {
  /** The resolved recipe's plain value. */
  value: Record<string, unknown>;
  tree: TreeNode;
  /** The recipe's directory: relative paths resolve against it. */
  dir: string;
  loaders?: LoaderCatalog;
}

/** One `file-not-found` diagnostic per named path that does not exist (or is the wrong kind). */
export async function checkRecipeFiles(c: FileCheck): Promise<Diagnostic[]> {
  const wanted: { path: PathSegment[]; file: string; kind: 'file' | 'model' }[] = [];
  const data = c.value.data;
  if (c.loaders && isRecord(data)) {
    for (const [name, entry] of Object.entries(data)) {
      if (!isRecord(entry) || typeof entry.uses !== 'string') continue;
      for (const option of c.loaders.get(entry.uses)?.fileOptions ?? []) {
        const file = entry[option];
        if (typeof file === 'string' && file !== '') wanted.push({ path: ['data', name, option], file, kind: 'file' });
      }
    }
  }
  const model = c.value.model;
  if (isRecord(model) && typeof model.from === 'string' && model.from !== '') wanted.push({ path: ['model', 'from'], file: model.from, kind: 'model' });

  const out: Diagnostic[] = [];
  for (const w of wanted) {
    const abs = isAbsolute(w.file) ? w.file : resolve(c.dir, w.file);
    const problem = await problemWith(abs, w.kind);
    if (!problem) continue;
    out.push({
      code: 'file-not-found',
      message: `${problem}: ${w.file} (resolved to ${abs})`,
      path: formatPath(w.path),
      loc: locate(c.tree, w.path),
      hints: ["relative paths are resolved from the recipe's directory"],
    });
  }
  return out;
}

/** Why `abs` cannot serve, or undefined. A model is a directory or its model.json. */
async function problemWith(abs: string, kind: 'file' | 'model'): Promise<string | undefined> {
  try {
    const st = await stat(abs);
    if (kind === 'file' && !st.isFile()) return 'not a file';
    if (kind === 'model' && st.isDirectory()) {
      return (await isFile(resolve(abs, 'model.json'))) ? undefined : 'no model.json in the model directory';
    }
    return undefined;
  } catch {
    return kind === 'model' ? 'model not found' : 'file not found';
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
