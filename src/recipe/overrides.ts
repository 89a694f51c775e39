/**
 * `--set dotted.path=value` overrides from the command line.
 *
 * Paths use dots and `[n]` indices (`stages[0].with.sparsity`); inside a list
 * of stages a segment may also name an item by its `id`
 * (`stages.prune.with.sparsity`), which survives reordering of the recipe.
 * Values are parsed as YAML, so `0.9` is a number, `[1, 2]` a list and
 * `'0.9'` a string. Errors point into the override itself, shown as a
 * pseudo-file `<--set>`.
 */
import type { Diagnostic, PathSegment, SourceLoc } from './diagnostic.js';
import { fail, formatPath, ok } from './diagnostic.js';
import type { Result } from './diagnostic.js';
import { parseYamlText } from './load.js';
import { didYouMean } from './suggest.js';
import type { MapNode, TreeNode } from './tree.js';

export const OVERRIDE_FILE = '<--set>';

export interface Override {
  /** The raw `path=value` text as typed. */
  raw: string;
  path: PathSegment[];
  value: TreeNode;
}

function overrideLoc(raw: string, column: number, length: number): SourceLoc {
  // The shown line includes the flag so the caret lines up with what the user typed.
  const prefix = '--set ';
  return { file: OVERRIDE_FILE, line: 1, column: column + prefix.length, sourceLine: prefix + raw, length };
}

function badOverride(raw: string, message: string, column = 1, length = raw.length, hints?: string[]): Diagnostic {
  return { code: 'bad-override', message, path: '', loc: overrideLoc(raw, column, Math.max(1, length)), ...(hints ? { hints } : {}) };
}

/** Parses `a.b[0].c=value` into a path and a located value. */
export function parseOverride(raw: string): Result<Override> {
  const eq = raw.indexOf('=');
  if (eq <= 0) {
    return fail([
      badOverride(raw, 'expected `path=value`', 1, raw.length, ['example: --set stages.prune.with.sparsity=0.9']),
    ]);
  }
  const pathText = raw.slice(0, eq);
  const path: PathSegment[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let consumed = '';
  for (let m = re.exec(pathText); m !== null; m = re.exec(pathText)) {
    if (m[2] !== undefined) path.push(Number(m[2]));
    else path.push(m[1]!);
    consumed += m[0];
  }
  if (path.length === 0 || consumed.length !== pathText.replace(/\./g, '').length) {
    return fail([badOverride(raw, `cannot read the path \`${pathText}\``, 1, pathText.length)]);
  }
  const valueText = raw.slice(eq + 1);
  const parsed = parseYamlText(valueText === '' ? '""' : valueText, OVERRIDE_FILE);
  if (!parsed.ok) {
    return fail([badOverride(raw, `the value \`${valueText}\` is not valid YAML`, eq + 2, valueText.length)]);
  }
  const loc = overrideLoc(raw, eq + 2, valueText.length);
  return ok({ raw, path, value: relocate(parsed.value.tree, loc) });
}

/** Gives every node of a parsed override value the location of the override text. */
function relocate(node: TreeNode, loc: SourceLoc): TreeNode {
  switch (node.kind) {
    case 'scalar':
      return { ...node, loc };
    case 'seq':
      return { kind: 'seq', loc, items: node.items.map((n) => relocate(n, loc)) };
    case 'map': {
      const entries = new Map([...node.entries].map(([k, e]) => [k, { keyLoc: loc, value: relocate(e.value, loc) }]));
      return { kind: 'map', loc, entries };
    }
  }
}

/** Returns a new tree with the override applied; the input is not modified. */
export function applyOverride(root: TreeNode, o: Override): Result<TreeNode> {
  const keyLoc = overrideLoc(o.raw, 1, o.raw.indexOf('='));
  const walk = (node: TreeNode | undefined, i: number, trail: PathSegment[]): Result<TreeNode> => {
    if (i === o.path.length) return ok(o.value);
    const seg = o.path[i]!;
    const here = formatPath(trail) || '(the recipe root)';
    if (node === undefined || (node.kind === 'scalar' && node.value === null)) {
      // Create missing maps on the way, so `--set devices.phone.budget.size_kb=40` works on a fresh device.
      if (typeof seg === 'number') return fail([badOverride(o.raw, `${here} has no list to index with [${seg}]`)]);
      const child = walk(undefined, i + 1, [...trail, seg]);
      if (!child.ok) return child;
      const entries = new Map([[seg, { keyLoc, value: child.value }]]);
      return ok({ kind: 'map', loc: keyLoc, entries } satisfies MapNode);
    }
    if (node.kind === 'map') {
      const key = String(seg);
      const child = walk(node.entries.get(key)?.value, i + 1, [...trail, key]);
      if (!child.ok) return child;
      const entries = new Map(node.entries);
      entries.set(key, { keyLoc: node.entries.get(key)?.keyLoc ?? keyLoc, value: child.value });
      return ok({ ...node, entries });
    }
    if (node.kind === 'seq') {
      const index = typeof seg === 'number' ? seg : findById(node.items, seg);
      if (index === undefined || index < 0 || index >= node.items.length) {
        const ids = node.items.map(idOf).filter((x): x is string => x !== undefined);
        const what = typeof seg === 'number' ? `index ${seg} is out of range (the list has ${node.items.length} items)` : `no item with id \`${seg}\`${didYouMean(seg, ids)}`;
        return fail([badOverride(o.raw, `${here}: ${what}`, 1, o.raw.indexOf('='))]);
      }
      const child = walk(node.items[index], i + 1, [...trail, index]);
      if (!child.ok) return child;
      const items = [...node.items];
      items[index] = child.value;
      return ok({ ...node, items });
    }
    return fail([badOverride(o.raw, `${here} is a single value, not a map or list, so \`${String(seg)}\` cannot be set inside it`, 1, o.raw.indexOf('='))]);
  };
  return walk(root, 0, []);
}

function idOf(node: TreeNode): string | undefined {
  if (node.kind !== 'map') return undefined;
  const id = node.entries.get('id')?.value;
  return id?.kind === 'scalar' && typeof id.value === 'string' ? id.value : undefined;
}

function findById(items: TreeNode[], id: string): number | undefined {
  const i = items.findIndex((n) => idOf(n) === id);
  return i === -1 ? undefined : i;
}
