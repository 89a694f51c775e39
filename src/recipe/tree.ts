/**
 * A recipe as a tree of values that remember where they came from.
 *
 * Recipes are merged from several files (presets via `extends`, the recipe,
 * `--set` overrides) before they are validated. Keeping the location on every
 * node through those steps is what lets a validation error found in the merged
 * result point into the preset file that supplied the bad value.
 */
import type { PathSegment, SourceLoc } from './diagnostic.js';

export type Scalar = string | number | boolean | null;

export interface MapEntry {
  /** Where the key is written; unknown-key errors point here. */
  keyLoc: SourceLoc;
  value: TreeNode;
}

export interface MapNode {
  kind: 'map';
  loc: SourceLoc;
  entries: Map<string, MapEntry>;
}

export interface SeqNode {
  kind: 'seq';
  loc: SourceLoc;
  items: TreeNode[];
}

export interface ScalarNode {
  kind: 'scalar';
  loc: SourceLoc;
  value: Scalar;
}

export type TreeNode = MapNode | SeqNode | ScalarNode;

/** Plain JSON-like value of a tree: what the schema validator and stages see. */
export function toPlain(node: TreeNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, e] of node.entries) out[k] = toPlain(e.value);
      return out;
    }
  }
}

/** Builds a tree from a plain value, every node located at `loc` (used for `--set` values). */
export function fromPlain(value: unknown, loc: SourceLoc): TreeNode {
  if (Array.isArray(value)) return { kind: 'seq', loc, items: value.map((v) => fromPlain(v, loc)) };
  if (value !== null && typeof value === 'object') {
    const entries = new Map<string, MapEntry>();
    for (const [k, v] of Object.entries(value)) entries.set(k, { keyLoc: loc, value: fromPlain(v, loc) });
    return { kind: 'map', loc, entries };
  }
  if (value === undefined) return { kind: 'scalar', loc, value: null };
  return { kind: 'scalar', loc, value: value as Scalar };
}

/** The node at `path`, or undefined when some segment does not exist. */
export function nodeAt(root: TreeNode, path: readonly PathSegment[]): TreeNode | undefined {
  let cur: TreeNode | undefined = root;
  for (const seg of path) {
    if (cur === undefined) return undefined;
    if (cur.kind === 'map') cur = cur.entries.get(String(seg))?.value;
    else if (cur.kind === 'seq' && typeof seg === 'number') cur = cur.items[seg];
    else return undefined;
  }
  return cur;
}

/**
 * The best location for a diagnostic about `path`: the node itself, or with
 * `key: true` the key that introduces it (what "unknown key" should point at).
 * When the path does not exist (a missing required key), the deepest existing
 * ancestor is used, so every diagnostic still lands somewhere sensible.
 */
export function locate(root: TreeNode, path: readonly PathSegment[], opts: { key?: boolean } = {}): SourceLoc {
  let cur: TreeNode = root;
  let loc = root.loc;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (cur.kind === 'map') {
      const entry = cur.entries.get(String(seg));
      if (entry === undefined) return loc;
      loc = last && opts.key ? entry.keyLoc : entry.value.loc;
      cur = entry.value;
    } else if (cur.kind === 'seq' && typeof seg === 'number' && cur.items[seg] !== undefined) {
      cur = cur.items[seg]!;
      loc = cur.loc;
    } else {
      return loc;
    }
  }
  return loc;
}

/** Location of a map's key, or of the map itself when the key is absent. */
export function keyLoc(map: MapNode, key: string): SourceLoc {
  return map.entries.get(key)?.keyLoc ?? map.loc;
}

export function isMap(node: TreeNode | undefined): node is MapNode {
  return node?.kind === 'map';
}
