/**
 * The part of a node's metrics the CLI turns into an exit code: `budgets`
 * {met, message}, written by evaluate (the evaluation's BudgetSummary) and by
 * select (for the devices it names). A contract of its own so the CLI reads
 * one typed value instead of casting `metrics.budgets`.
 */
import type { Json } from '../plugin.js';

export interface BudgetOutcome {
  /** false: no candidate meets every budget (a missed or unstable limit); the run exits 3. */
  met: boolean;
  /** One line for the summary. */
  message: string;
}

/**
 * A node's budget outcome: null when its metrics have no `budgets` (most
 * stages); `{ error }` when they have one of the wrong shape, which the CLI
 * treats as not met rather than silently green.
 */
export function budgetOutcomeOf(metrics: Record<string, Json>, node: string): BudgetOutcome | { error: string } | null {
  const b = metrics['budgets'];
  if (b === undefined) return null;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return { error: `metrics of ${node}.budgets: Expected an object, got ${JSON.stringify(b)}` };
  if (typeof b['met'] !== 'boolean') return { error: `metrics of ${node}.budgets.met: Expected true or false, got ${JSON.stringify(b['met']) ?? 'nothing'}` };
  if (typeof b['message'] !== 'string') return { error: `metrics of ${node}.budgets.message: Expected a string, got ${JSON.stringify(b['message']) ?? 'nothing'}` };
  return { met: b['met'], message: b['message'] };
}
