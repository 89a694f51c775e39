/**
 * The digest of the code that runs a stage, as it enters the stage's cache
 * keys. A key that names only the stage and a hand-bumped version serves
 * stale bytes after any edit that forgets the bump (a changed shuffle seed in
 * the training loop kept being served from the cache); hashing the code
 * itself cannot forget.
 *
 * What is hashed: the files of the static import closure of the stage's
 * entry file, plus the closure of the modelpress runtime every stage runs on
 * (RUNTIME_ENTRIES: the engine, the dataset loaders and the data access the
 * worker builds `ctx` from). For a built-in stage the entry is
 * `stages/<name>/<name>.js` under the code root (dist/, which is what the
 * worker threads load); for a local plugin file, that file and the local
 * files it imports; for an npm plugin, its package name and version and the
 * files of its closure inside the package. A plugin's `modelpress` and
 * `modelpress/<sub>` imports are followed into our own code. Other packages'
 * files are not followed: tfjs enters the key as versions (see tfjs-versions.ts).
 *
 * The digest is sha256 of the sorted `label sha256` lines, where a label is
 * the file's path relative to its root (`modelpress/stages/train/train.js`,
 * `plugins/x.mjs`, `pkg@1.2.0/lib/a.js`), so moving a checkout or the recipe
 * directory does not change it.
 *
 * Planner and worker call the same function (`stageCode`): the worker checks
 * that the code it loaded is the code the key describes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../package-info.js';

/** A stage's code digest, and the per-file breakdown behind it (not in the key record). */
export interface StageCode {
  /** `sha256:<hex>` of the sorted `label sha256` lines. */
  digest: string;
  /** label -> sha256 of each file in the closure. */
  files: Record<string, string>;
}

/**
 * Where modelpress's own code is read from: `dir` holds `stages/`, `engine/`,
 * ... as compiled `.js` (dist/) or as TypeScript sources (src/, where a
 * `./x.js` import names `./x.ts`).
 */
export interface CodeRoot {
  dir: string;
  /** The package.json whose `exports` map `modelpress/<sub>` imports (default: the one beside `dir`). */
  packageJson?: string;
}

/**
 * The modules every stage runs on besides its own closure: they build
 * `ctx.engine` and `ctx.data` in the worker, so a change to them can change
 * any stage's bytes.
 */
export const RUNTIME_ENTRIES: readonly string[] = ['engine/engine.js', 'data/builtin.js', 'run/data-access.js'];

/**
 * The code root of this process: dist/ when it is built (worker threads
 * always load dist/, so that is the code that produces the bytes, even when
 * the planner itself runs from src/ under a test runner), else src/.
 */
export function defaultCodeRoot(): CodeRoot {
  const dist = join(PACKAGE_ROOT, 'dist');
  return { dir: existsSync(join(dist, 'stages', 'builtin.js')) ? dist : join(PACKAGE_ROOT, 'src') };
}

/** The entry file of built-in stage `name`, relative to the code root (one folder per stage, named after it). */
export function builtinStageEntry(name: string): string {
  return `stages/${name}/${name}.js`;
}

/** The parts of a registered stage its code digest needs (a RegisteredStage fits). */
export interface StageOrigin {
  def: { name: string; run?: unknown };
  /** `builtin`, a local plugin file as the recipe spells it, or an npm package name. */
  source: string;
}

/**
 * The code digest of a registered stage.
 *
 * A stage registered in code rather than loaded from a file (through the
 * library API or in a test; its source is `builtin` but there is no
 * `stages/<name>/<name>.js`) has no file to walk: the source text of its
 * `run` function stands in for its own code, with the runtime closure.
 * Every real built-in stage has its entry file (a test checks it).
 *
 * @throws Error when a local plugin file or an npm plugin cannot be found
 *   (plugin loading reports that first, with a diagnostic, before keys are built).
 */
export async function stageCode(stage: StageOrigin, recipeDir: string, root: CodeRoot = defaultCodeRoot()): Promise<StageCode> {
  const { def, source } = stage;
  const runtime = RUNTIME_ENTRIES.map((e) => resolveInRoot(root, e));
  if (source === 'builtin') {
    const entry = resolveInRoot(root, builtinStageEntry(def.name));
    if (entry) return closureDigest([entry, ...runtime], root, {});
    const inline = createHash('sha256').update(String(def.run)).digest('hex');
    return closureDigest(runtime, root, {}, { [`inline:${def.name}`]: inline });
  }
  if (source.startsWith('.') || isAbsolute(source)) {
    const file = resolve(recipeDir, source);
    if (!existsSync(file)) throw new Error(`plugin ${source}: no such file: ${file}`);
    return closureDigest([file, ...runtime], root, { localDir: recipeDir });
  }
  const entry = createRequire(join(recipeDir, 'noop.js')).resolve(source);
  const pkg = packageOf(entry);
  return closureDigest([entry, ...runtime], root, { localDir: recipeDir, ...(pkg ? { pkg } : {}) });
}

interface Scopes {
  /** Labels of local plugin files are relative to this directory. */
  localDir?: string;
  /** The npm plugin's package: its files are labelled `name@version/rel`. */
  pkg?: { dir: string; name: string; version: string };
}

async function closureDigest(entries: (string | undefined)[], root: CodeRoot, scopes: Scopes, extra: Record<string, string> = {}): Promise<StageCode> {
  const seen = new Set<string>();
  const queue = entries.filter((e): e is string => e !== undefined);
  const files: Record<string, string> = { ...extra };
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const { sha256, specifiers } = await readModule(file);
    files[labelOf(file, root, scopes)] = sha256;
    for (const spec of specifiers) {
      const next = follow(spec, file, root);
      if (next && !seen.has(next)) queue.push(next);
    }
  }
  const lines = Object.keys(files)
    .sort()
    .map((label) => `${label} ${files[label]}\n`)
    .join('');
  return { digest: `sha256:${createHash('sha256').update(lines).digest('hex')}`, files: sortedRecord(files) };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]!]));
}

function posix(p: string): string {
  return p.split(sep).join('/');
}

function inside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function labelOf(file: string, root: CodeRoot, scopes: Scopes): string {
  if (inside(root.dir, file)) return `modelpress/${posix(relative(root.dir, file))}`;
  if (scopes.pkg && inside(scopes.pkg.dir, file)) return `${scopes.pkg.name}@${scopes.pkg.version}/${posix(relative(scopes.pkg.dir, file))}`;
  return posix(relative(scopes.localDir ?? root.dir, file));
}

/**
 * The file an import specifier names, when it is code we hash: a relative
 * import (resolving `./x.js` to `./x.ts` in a source tree) or a
 * `modelpress[/sub]` import. Other packages are not followed.
 */
function follow(spec: string, from: string, root: CodeRoot): string | undefined {
  if (spec.startsWith('./') || spec.startsWith('../')) return existing(resolve(dirname(from), spec));
  if (spec === 'modelpress' || spec.startsWith('modelpress/')) return resolveSelfImport(spec, root);
  return undefined;
}

function existing(path: string): string | undefined {
  if (isFile(path)) return path;
  if (extname(path) === '.js' && isFile(`${path.slice(0, -3)}.ts`)) return `${path.slice(0, -3)}.ts`;
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function resolveInRoot(root: CodeRoot, rel: string): string | undefined {
  return existing(join(root.dir, rel));
}

/** `modelpress/plugin` -> the file package.json `exports` maps it to, under the code root. */
function resolveSelfImport(spec: string, root: CodeRoot): string | undefined {
  const pkgPath = root.packageJson ?? join(dirname(root.dir), 'package.json');
  let exportsMap: Record<string, unknown>;
  try {
    exportsMap = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, unknown> }).exports ?? {};
  } catch {
    return undefined;
  }
  const target = exportsMap[spec === 'modelpress' ? '.' : `.${spec.slice('modelpress'.length)}`];
  const file = typeof target === 'string' ? target : (target as { import?: unknown } | undefined)?.import;
  if (typeof file !== 'string') return undefined;
  // Exports name dist/ files; the code root may be src/ (a source checkout).
  return resolveInRoot(root, file.replace(/^\.\/dist\//, ''));
}

/** The npm package that holds `file`: the nearest package.json with a name. */
function packageOf(file: string): { dir: string; name: string; version: string } | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name) return { dir, name: pkg.name, version: pkg.version ?? '0.0.0' };
  }
  return undefined;
}

const PARSED = /\.(?:[cm]?js|[cm]?ts)$/;

/**
 * Import specifiers of a JS/TS module: `from '...'`, `import '...'`,
 * `import('...')` with a literal, and `new URL('...', import.meta.url)` (how
 * worker and child-process files are found). A regex over the text, not a
 * parser: a specifier that only appears in a comment adds a file to the
 * closure, which can only make the key change more often, never less.
 */
const IMPORTS = [
  /\bfrom\s*(['"])([^'"\n]+)\1/g,
  /\bimport\s*(['"])([^'"\n]+)\1/g,
  /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  /\bnew\s+URL\s*\(\s*(['"])([^'"\n]+)\1\s*,\s*import\.meta\.url/g,
];

export function importSpecifiers(text: string): string[] {
  const out = new Set<string>();
  for (const re of IMPORTS) for (const m of text.matchAll(re)) out.add(m[2]!);
  return [...out];
}

/**
 * Per-file memo: hashing the closure is done once per process per file
 * version. Keyed by size and mtime so a test (or a long-lived process) that
 * edits a file sees the new content.
 */
const memo = new Map<string, { stamp: string; sha256: string; specifiers: string[] }>();

async function readModule(file: string): Promise<{ sha256: string; specifiers: string[] }> {
  const s = await stat(file);
  const stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
  const hit = memo.get(file);
  if (hit && hit.stamp === stamp) return hit;
  const bytes = await readFile(file);
  const entry = {
    stamp,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    specifiers: PARSED.test(file) ? importSpecifiers(bytes.toString('utf8')) : [],
  };
  memo.set(file, entry);
  return entry;
}
