/**
 * Cycle detection over stage `needs`, reported as the path that closes the
 * loop (`a -> b -> c -> a`) so the user sees which edge to cut.
 */
import type { StageSpec } from '../recipe/types.js';

export function findStageCycle(stages: readonly StageSpec[]): string[] | undefined {
  const needs = new Map(stages.map((s) => [s.id, s.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const st = state.get(id);
    if (st === 'done') return undefined;
    if (st === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const n of needs.get(id) ?? []) {
      if (!needs.has(n)) continue;
      const c = visit(n);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of stages) {
    const c = visit(s.id);
    // Report in dependency direction (the stage first, then what it needs).
    if (c) return c;
  }
  return undefined;
}
