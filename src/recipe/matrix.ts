/**
 * Matrix fan-out: `matrix: { sparsity: [0.8, 0.9], bits: [4, 5] }` means one
 * node per combination. Combinations are generated in key order, last key
 * fastest, so node order is stable and predictable.
 */
import type { Diagnostic } from './diagnostic.js';
import { interpolate } from './interpolate.js';
import type { Scalar, TreeNode } from './tree.js';
import { fromPlain } from './tree.js';

export type MatrixValue = string | number | boolean;
export type MatrixCombo = Record<string, MatrixValue>;

/** Most nodes one matrix may expand to; a sweep larger than this is almost certainly a typo. */
export const MAX_MATRIX_COMBINATIONS = 256;

export function matrixCombinations(matrix: Record<string, readonly MatrixValue[]>): MatrixCombo[] {
  let combos: MatrixCombo[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

/** `prune` + {sparsity: 0.9} -> `prune[sparsity=0.9]`. */
export function nodeId(stageId: string, combo: MatrixCombo): string {
  const keys = Object.keys(combo);
  if (keys.length === 0) return stageId;
  return `${stageId}[${keys.map((k) => `${k}=${String(combo[k])}`).join(',')}]`;
}

/** Substitutes `${matrix.*}` in a stage's `with` tree for one combination. */
export function substituteMatrix(node: TreeNode, combo: MatrixCombo, diagnostics: Diagnostic[]): TreeNode {
  return interpolate(node, { values: { matrix: fromPlain(combo, node.loc) }, deferred: { vars: [] } }, diagnostics);
}

export function isMatrixValue(v: Scalar): v is MatrixValue {
  return v !== null;
}
