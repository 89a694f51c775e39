/**
 * A trial's epochs: three quarters retrain the survivors of pruning, a
 * quarter (at least one) fine-tunes the centroids, when it both prunes and
 * shares; one phase otherwise. With a pruning schedule, a trial that prunes
 * and does not share ramps in its one phase; the ramp is cut to the phase.
 */
import { rampEpochs, trialPhases } from '../../../src/stages/auto/trial-phases.js';

const both = { dense1: { sparsity: 0.9, bits: 2 } };

describe('trialPhases', () => {
  test.each([
    [8, { prune: 6, share: 2 }],
    [16, { prune: 12, share: 4 }],
    [3, { prune: 2, share: 1 }],
    [2, { prune: 1, share: 1 }],
    [1, { prune: 0, share: 1 }],
    [0, { prune: 0, share: 0 }],
  ])('%i epochs, pruning and sharing: %j', (epochs, phases) => {
    expect(trialPhases(epochs, both)).toEqual(phases);
  });

  test('one family, one phase', () => {
    expect(trialPhases(8, { dense1: { sparsity: 0.9 } })).toEqual({ prune: 0, share: 8 });
    expect(trialPhases(8, { dense1: { bits: 4 }, dense2: { dtype: 'uint8' } })).toEqual({ prune: 0, share: 8 });
  });

  test('with a pruning schedule: pruning alone is the pruning phase (where the ramp runs); with sharing, as without', () => {
    expect(trialPhases(8, { dense1: { sparsity: 0.9 } }, true)).toEqual({ prune: 8, share: 0 });
    expect(trialPhases(8, { dense1: { sparsity: 0.9 }, dense2: { dtype: 'uint8' } }, true)).toEqual({ prune: 8, share: 0 });
    expect(trialPhases(16, both, true)).toEqual({ prune: 12, share: 4 });
    // Nothing to ramp: bits alone stay one (share) phase.
    expect(trialPhases(8, { dense1: { bits: 4 } }, true)).toEqual({ prune: 0, share: 8 });
  });

  test('the ramp lasts its epochs, at most the pruning phase', () => {
    expect(rampEpochs({ epochs: 6 }, 12)).toBe(6);
    expect(rampEpochs({ epochs: 6 }, 3)).toBe(3);
  });
});
