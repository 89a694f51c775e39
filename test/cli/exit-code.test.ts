/**
 * The exit code of `run` from its record: budgets read through the contract
 * (src/contracts/budget-outcome.ts), so an unstable-only miss exits 3 like
 * any miss, and a malformed `budgets` is not silently green.
 */
import { exitCodeFor } from '../../src/cli/commands/run.js';
import type { Json } from '../../src/plugin.js';
import type { RunRecord } from '../../src/run/run-record.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';

function withBudgets(budgets: Json | undefined, status: RunRecord['status'] = 'succeeded'): RunRecord {
  const metrics: Record<string, Json> = budgets === undefined ? {} : { budgets };
  return { ...fakeRunRecord('r', [fakeNode('train', 'train', { accuracy: 97 }), fakeNode('eval', 'evaluate', metrics)]), status };
}

const UNSTABLE_ONLY = 'no candidate meets every budget; closest: p, missed phone latency_ms_p95 (1.9 ms vs 2 ms: unstable: 95% interval 1.7-2.3 ms contains the limit 2 ms); only unstable limits: ...';

describe('exitCodeFor', () => {
  // [case, record, exit code]
  const cases: [string, RunRecord, number][] = [
    ['no budgets anywhere', withBudgets(undefined), 0],
    ['budgets met', withBudgets({ met: true, message: 'ok' }), 0],
    ['a budget missed', withBudgets({ met: false, message: 'missed' }), 3],
    ['only unstable limits: not met', withBudgets({ met: false, message: UNSTABLE_ONLY }), 3],
    ['budgets of the wrong shape: not met', withBudgets({ met: 'yes', message: 'x' }), 3],
    ['a stage failed', withBudgets({ met: false, message: 'missed' }, 'failed'), 1],
    ['interrupted', withBudgets({ met: true, message: 'ok' }, 'interrupted'), 130],
  ];
  test.each(cases)('%s -> %d', (_, record, code) => {
    expect(exitCodeFor(record)).toBe(code);
  });
});
