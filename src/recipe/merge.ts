/**
 * Deep merge of located trees, the rule `extends` follows: maps merge key by
 * key, the overriding side wins; lists and scalars are replaced whole (merging
 * lists element-wise would make `stages` impossible to reason about).
 */
import type { MapEntry, TreeNode } from './tree.js';

export function mergeTrees(base: TreeNode, over: TreeNode): TreeNode {
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const entries = new Map<string, MapEntry>(base.entries);
  for (const [key, entry] of over.entries) {
    const prev = entries.get(key);
    entries.set(key, prev ? { keyLoc: entry.keyLoc, value: mergeTrees(prev.value, entry.value) } : entry);
  }
  return { kind: 'map', loc: over.loc, entries };
}
