import { learningRateAt } from '../../../src/stages/training/train-schedule.js';

describe('learning-rate schedules', () => {
  test.each([
    ['constant', { kind: 'constant' as const }, [0.1, 0.1, 0.1, 0.1]],
    ['step every 2, x0.5', { kind: 'step' as const, every: 2, factor: 0.5 }, [0.1, 0.1, 0.05, 0.05]],
    ['exponential x0.5', { kind: 'exponential' as const, factor: 0.5 }, [0.1, 0.05, 0.025, 0.0125]],
    ['cosine to 0', { kind: 'cosine' as const, minLearningRate: 0 }, [0.1, 0.075, 0.025, 0]],
  ])('%s', (_name, schedule, expected) => {
    const got = [0, 1, 2, 3].map((e) => learningRateAt(schedule, 0.1, e, 4));
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });
});
