/**
 * Which image files an `images` dataset holds, and their labels, before any
 * pixel is read: planning fingerprints the dataset from this list.
 *
 * Two ways to name them:
 * - `path: ./photos`: a folder. With sub-folders (the torchvision
 *   ImageFolder layout) each sub-folder is a class and holds that class's
 *   images (nested folders inside a class folder count too); without
 *   sub-folders the images are unlabelled (`labels: none`).
 * - `list: ./train.csv` or `./train.json`: a list of image paths (relative
 *   to the list file) with an optional label each. CSV: columns `path` and
 *   `label`, a header row naming them is optional; JSON: an array of
 *   `{ "path": ..., "label": ... }` (or of path strings: unlabelled).
 *
 * Files: `.jpg`, `.jpeg` and `.png` (any case) are images; other files
 * (READMEs, `.gif`, `.webp`, `labels.csv`) are skipped, and so are hidden
 * files and folders (`.DS_Store`, `.gitkeep`, `.git/`). Order is the sorted
 * relative path (code-point order, the same on every OS and locale), so the
 * dataset does not depend on how a filesystem lists a folder.
 *
 * Class indices: the `classes` option's order when given, else the sorted
 * class names. Integer labels in a list are indices as they are.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, posix, resolve } from 'node:path';
import { DataError } from './errors.js';
import type { SourceFile } from './source.js';
import { sourceFile, statSource } from './source.js';

export type LabelSource = 'folders' | 'list' | 'none';

/** One image: where it is, the role name under which its hash enters the fingerprint, and its class. */
export interface ImageItem {
  file: SourceFile;
  /** Path relative to the folder or list file, `/`-separated: stable across machines. */
  rel: string;
  /** Class index, or -1 when unlabelled. */
  label: number;
}

export interface ImageListing {
  items: ImageItem[];
  /** How labels were found (after `auto`). */
  labels: LabelSource;
  /** Class names in index order, when labels have names (folders, or named labels in a list). */
  classNames?: string[];
  /** Number of classes; 0 when unlabelled. */
  classes: number;
  /** The list file itself, which enters the fingerprint too. */
  listFile?: SourceFile;
  /** Files that were not images (skipped), relative paths; for messages. */
  skipped: string[];
}

export interface ListingOptions {
  path?: string;
  list?: string;
  labels: LabelSource | 'auto';
  classes?: string[];
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Lists the dataset's images. Recipe-level problems are DataErrors with `option` set, so they are located in the recipe. */
export async function listImages(o: ListingOptions, baseDir: string): Promise<ImageListing> {
  if (o.list !== undefined) return listFromFile(o, baseDir);
  return listFolder(o, baseDir);
}

interface Entry {
  name: string;
  dir: boolean;
}

/**
 * The visible entries of a folder. Symbolic links count as what they point
 * to (datasets are often linked in from a shared disk); a dangling link is
 * a file, and reading it later names it.
 */
async function entriesOf(dir: string, label: string, option: string): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DataError(`no such folder: ${dir}`, { code: 'file-not-found', file: label, option, hint: "relative paths are resolved from the recipe's directory", cause: err });
    }
    throw new DataError(`cannot read folder: ${(err as Error).message}`, { code: 'file-unreadable', file: label, option, cause: err });
  }
  return Promise.all(
    dirents.map(async (e) => ({
      name: e.name,
      dir: e.isDirectory() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).then((st) => st.isDirectory(), () => false))),
    })),
  );
}

/** Every file under `dir` (recursive), as `/`-separated paths relative to `root`, sorted. */
async function walk(dir: string, relDir: string, label: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await entriesOf(dir, label, 'path')) {
    const rel = relDir === '' ? e.name : `${relDir}/${e.name}`;
    // No push(...spread): a class folder of 200,000 files would overflow the call stack.
    if (e.dir) for (const f of await walk(join(dir, e.name), rel, label)) out.push(f);
    else out.push(rel);
  }
  return out.sort(byCodePoint);
}

function displayPath(base: string, rel: string): string {
  return posix.join(base.replaceAll('\\', '/'), rel);
}

function noImagesHint(skipped: string[]): string {
  const examples = skipped.slice(0, 3).join(', ');
  return skipped.length > 0
    ? `only .jpg, .jpeg and .png files are read; skipped ${skipped.length} other file(s): ${examples}${skipped.length > 3 ? ', ...' : ''}`
    : 'put .jpg, .jpeg or .png files in it (hidden files are ignored)';
}

async function listFolder(o: ListingOptions, baseDir: string): Promise<ImageListing> {
  const path = o.path!;
  const root = isAbsolute(path) ? path : resolve(baseDir, path);
  const top = await entriesOf(root, path, 'path');
  const dirs = top.filter((e) => e.dir).map((e) => e.name).sort(byCodePoint);
  const labels: LabelSource = o.labels === 'auto' ? (dirs.length > 0 ? 'folders' : 'none') : o.labels;
  if (labels === 'list') {
    throw new DataError('`labels: list` needs a `list:` file, but this dataset names a folder (`path:`)', { code: 'bad-option', file: path, option: 'labels', hint: 'use `labels: folders` or `labels: none`, or give `list:` instead of `path:`' });
  }
  if (labels === 'none') {
    const all = await walk(root, '', path);
    const rels = all.filter(isImageName);
    const skipped = all.filter((r) => !isImageName(r));
    if (rels.length === 0) throw new DataError('no images in this folder', { code: 'empty', file: path, option: 'path', hint: noImagesHint(skipped) });
    const items = rels.map((rel) => ({ file: { path: join(root, rel), label: displayPath(path, rel) }, rel, label: -1 }));
    return { items, labels, classes: o.classes?.length ?? 0, ...(o.classes ? { classNames: o.classes } : {}), skipped };
  }
  // labels: folders
  if (dirs.length === 0) {
    throw new DataError('`labels: folders` needs one sub-folder per class, but this folder has none', { code: 'empty', file: path, option: 'path', hint: 'move each class\'s images into a folder named after the class, or set `labels: none`' });
  }
  const loose = top.filter((e) => !e.dir && isImageName(e.name)).map((e) => e.name).sort(byCodePoint);
  if (loose.length > 0) {
    throw new DataError(`${loose.length} image(s) directly in the folder, outside the class folders (${loose.slice(0, 3).join(', ')}${loose.length > 3 ? ', ...' : ''})`, {
      code: 'bad-option',
      file: path,
      option: 'path',
      hint: 'move them into their class folder, or set `labels: none` to load every image unlabelled',
    });
  }
  const classNames = o.classes ?? dirs;
  if (o.classes) checkClassList(o.classes, dirs, path);
  const items: ImageItem[] = [];
  const skipped: string[] = [];
  for (const dir of dirs) {
    const files = await walk(join(root, dir), dir, path);
    const rels = files.filter(isImageName);
    skipped.push(...files.filter((r) => !isImageName(r)));
    if (rels.length === 0) {
      throw new DataError(`class folder \`${dir}\` has no images`, { code: 'empty', file: displayPath(path, dir), option: 'path', hint: noImagesHint(files) });
    }
    const label = classNames.indexOf(dir);
    for (const rel of rels) items.push({ file: { path: join(root, rel), label: displayPath(path, rel) }, rel, label });
  }
  items.sort((a, b) => byCodePoint(a.rel, b.rel));
  return { items, labels, classNames, classes: classNames.length, skipped };
}

function checkClassList(classes: string[], dirs: string[], path: string): void {
  const missing = classes.filter((c) => !dirs.includes(c));
  const extra = dirs.filter((d) => !classes.includes(d));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`no folder for class(es) ${missing.map((c) => `\`${c}\``).join(', ')}`] : []),
      ...(extra.length > 0 ? [`folder(s) ${extra.map((c) => `\`${c}\``).join(', ')} not in \`classes\``] : []),
    ];
    throw new DataError(`\`classes\` does not match the class folders: ${parts.join('; ')}`, { code: 'bad-option', file: path, option: 'classes', hint: `the class folders are: ${dirs.join(', ')}` });
  }
}

interface ListRow {
  path: string;
  label?: string;
  /** 1-based line in a CSV list; JSON: undefined (record is used instead). */
  line?: number;
  record?: number;
}

async function listFromFile(o: ListingOptions, baseDir: string): Promise<ImageListing> {
  const listFile = sourceFile(o.list!, baseDir);
  await statSource(listFile);
  const text = await readFile(listFile.path, 'utf8');
  const rows = extname(listFile.path).toLowerCase() === '.json' ? parseJsonList(text, listFile) : parseCsvList(text, listFile);
  if (rows.length === 0) throw new DataError('the list names no images', { code: 'empty', file: listFile.label, option: 'list' });
  const hasLabels = rows.some((r) => r.label !== undefined && r.label !== '');
  const labels: LabelSource = o.labels === 'auto' ? (hasLabels ? 'list' : 'none') : o.labels;
  if (labels === 'folders') {
    throw new DataError('`labels: folders` needs a folder (`path:`), but this dataset names a list file', { code: 'bad-option', file: listFile.label, option: 'labels', hint: 'use `labels: list` (the list\'s label column) or `labels: none`' });
  }
  const dir = dirname(listFile.path);
  const at = (r: ListRow) => (r.line !== undefined ? { line: r.line } : { record: r.record! });
  let classNames: string[] | undefined = o.classes;
  let classes = o.classes?.length ?? 0;
  const raw = rows.map((r) => r.label ?? '');
  if (labels === 'list') {
    const missing = rows.find((r) => r.label === undefined || r.label === '');
    if (missing) throw new DataError(`no label for ${missing.path}`, { code: 'bad-option', file: listFile.label, ...at(missing), hint: 'give every row a label, or set `labels: none` to ignore the labels' });
    const numeric = raw.every((l) => /^\d+$/.test(l));
    if (!o.classes && numeric) {
      classNames = undefined;
      classes = raw.reduce((m, l) => Math.max(m, Number(l)), -1) + 1;
    } else if (!o.classes) {
      classNames = [...new Set(raw)].sort(byCodePoint);
      classes = classNames.length;
    }
  }
  const items: ImageItem[] = rows.map((r, i) => {
    const file = isAbsolute(r.path) ? r.path : resolve(dir, r.path);
    const rel = isAbsolute(r.path) ? r.path.replaceAll('\\', '/') : posix.normalize(r.path.replaceAll('\\', '/'));
    let label = -1;
    if (labels === 'list') {
      const l = raw[i]!;
      label = classNames ? classNames.indexOf(l) : Number(l);
      if (label < 0 && classNames && /^\d+$/.test(l) && Number(l) < classNames.length) label = Number(l);
      if (label < 0) {
        throw new DataError(`label ${JSON.stringify(l)} is not one of \`classes\` (${classNames!.join(', ')})`, { code: 'label-out-of-range', file: listFile.label, ...at(r) });
      }
    }
    return { file: { path: file, label: displayPath(posix.dirname(listFile.label.replaceAll('\\', '/')), rel) }, rel, label };
  });
  items.forEach((it, i) => {
    if (!isImageName(it.rel)) throw new DataError(`${it.rel} is not a .jpg, .jpeg or .png file`, { code: 'bad-option', file: listFile.label, ...at(rows[i]!) });
  });
  return { items, labels, classes, ...(classNames ? { classNames } : {}), listFile, skipped: [] };
}

function parseCsvList(text: string, src: SourceFile): ListRow[] {
  const rows: ListRow[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let pathCol = 0;
  let labelCol = 1;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
    if (rows.length === 0 && fields.includes('path') && i === lines.findIndex((l) => l.trim() !== '')) {
      pathCol = fields.indexOf('path');
      labelCol = fields.indexOf('label');
      return;
    }
    const path = fields[pathCol] ?? '';
    if (path === '') throw new DataError('empty image path', { code: 'bad-option', file: src.label, line: i + 1 });
    rows.push({ path, ...(labelCol >= 0 && fields[labelCol] !== undefined ? { label: fields[labelCol] } : {}), line: i + 1 });
  });
  return rows;
}

function parseJsonList(text: string, src: SourceFile): ListRow[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(`not valid JSON: ${(err as Error).message}`, { code: 'bad-header', file: src.label, cause: err });
  }
  if (!Array.isArray(value)) throw new DataError(`expected a JSON array of { "path", "label" } objects, got ${value === null ? 'null' : typeof value}`, { code: 'bad-header', file: src.label });
  return value.map((v: unknown, record) => {
    if (typeof v === 'string' && v !== '') return { path: v, record };
    const o = v as { path?: unknown; label?: unknown } | null;
    if (o === null || typeof o !== 'object' || typeof o.path !== 'string' || o.path === '') {
      throw new DataError(`expected { "path": "<image file>", "label": ... } or a path string, got ${JSON.stringify(v)}`, { code: 'bad-header', file: src.label, record });
    }
    if (o.label !== undefined && typeof o.label !== 'string' && !(typeof o.label === 'number' && Number.isInteger(o.label) && o.label >= 0)) {
      throw new DataError(`label ${JSON.stringify(o.label)} is neither a class name nor a class index >= 0`, { code: 'label-out-of-range', file: src.label, record });
    }
    return { path: o.path, ...(o.label !== undefined ? { label: String(o.label) } : {}), record };
  });
}
