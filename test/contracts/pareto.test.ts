/** THE Pareto front: dominance, the tie rule (exact duplicates all stay), the order. */
import { paretoFront } from '../../src/contracts/pareto.js';

const p = (node: string, value: number, accuracy: number) => ({ node, value, accuracy });

describe('paretoFront', () => {
  // [case, points, front node ids in order]
  const cases: [string, ReturnType<typeof p>[], string[]][] = [
    ['dominated points drop out; sorted by value', [p('a', 1, 1), p('b', 2, 3), p('c', 3, 2), p('d', 4, 4), p('e', 4, 3)], ['a', 'b', 'd']],
    ['same value: only the more accurate stays', [p('x', 5, 90), p('y', 5, 91)], ['y']],
    ['same accuracy: only the smaller stays', [p('x', 5, 90), p('y', 4, 90)], ['y']],
    ['exact duplicates are both on the front, by node id', [p('z', 5, 90), p('a', 5, 90), p('big', 9, 80)], ['a', 'z']],
    ['input order does not matter', [p('d', 4, 4), p('b', 2, 3), p('a', 1, 1)], ['a', 'b', 'd']],
    ['empty', [], []],
  ];
  test.each(cases)('%s', (_, points, front) => {
    expect(paretoFront(points).map((x) => x.node)).toEqual(front);
  });
});
