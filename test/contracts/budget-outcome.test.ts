/** What the CLI turns into exit code 3: a node's `budgets`, read through one typed function. */
import { budgetOutcomeOf } from '../../src/contracts/budget-outcome.js';
import type { Json } from '../../src/plugin.js';

describe('budgetOutcomeOf', () => {
  // [metrics, outcome]
  const cases: [Record<string, Json>, ReturnType<typeof budgetOutcomeOf>][] = [
    [{ accuracy: 97 }, null],
    [{ budgets: { met: true, message: 'all good' } }, { met: true, message: 'all good' }],
    [{ budgets: { met: false, message: 'missed', best: null } }, { met: false, message: 'missed' }],
    [{ budgets: 'met' }, { error: 'metrics of eval.budgets: Expected an object, got "met"' }],
    [{ budgets: { met: 'yes', message: 'x' } }, { error: 'metrics of eval.budgets.met: Expected true or false, got "yes"' }],
    [{ budgets: { met: true } }, { error: 'metrics of eval.budgets.message: Expected a string, got nothing' }],
  ];
  test.each(cases)('%j -> %j', (metrics, outcome) => {
    expect(budgetOutcomeOf(metrics, 'eval')).toEqual(outcome);
  });
});
