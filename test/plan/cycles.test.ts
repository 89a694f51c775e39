import { join } from 'node:path';
import { findStageCycle } from '../../src/plan/cycles.js';
import { buildGraph } from '../../src/plan/graph.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { HEAD, lines, load, planRegistry, useTempDirs, writeFiles } from './helpers.js';

const tempDir = useTempDirs();

interface Case {
  name: string;
  stages: string;
  /** The one diagnostic: `file:line:col code: message`. */
  expected: string;
  /** Its key path and first hint. */
  path: string;
  hint: string;
}

// The chain reads in the direction `needs` is written: `a -> b` is "a needs b".
// It starts at the first stage on the cycle that the walk (stages in recipe
// order, each followed into what it needs) reaches, and the diagnostic points
// at that stage's `id`.
const cases: Case[] = [
  {
    name: 'a 2-cycle',
    stages: '  - id: a\n    uses: prune\n    needs: [b]\n  - id: b\n    uses: quantize\n    needs: [a]\n',
    expected: 'r.yaml:4:9 dependency-cycle: dependency cycle: a -> b -> a',
    path: 'stages[0].needs',
    hint: 'read `a -> b` as "`a` needs `b`"; remove one of these `needs` to break the cycle',
  },
  {
    name: 'a 2-cycle closed by a default need (b needs the stage before it)',
    stages: '  - id: a\n    uses: prune\n    needs: b\n  - id: b\n    uses: quantize\n',
    expected: 'r.yaml:4:9 dependency-cycle: dependency cycle: a -> b -> a',
    path: 'stages[0].needs',
    hint: 'read `a -> b` as "`a` needs `b`"; remove one of these `needs` to break the cycle',
  },
  {
    name: 'a 3-cycle a -> b -> c -> a',
    stages:
      '  - id: a\n    uses: prune\n    needs: [b]\n' +
      '  - id: b\n    uses: quantize\n    needs: [c]\n' +
      '  - id: c\n    uses: evaluate\n    needs: [a]\n',
    expected: 'r.yaml:4:9 dependency-cycle: dependency cycle: a -> b -> c -> a',
    path: 'stages[0].needs',
    hint: 'read `a -> b` as "`a` needs `b`"; remove one of these `needs` to break the cycle',
  },
  {
    name: 'a 3-cycle written in the other direction reads as written',
    stages:
      '  - { id: a, uses: prune, needs: [c] }\n' +
      '  - { id: b, uses: quantize, needs: [a] }\n' +
      '  - { id: c, uses: evaluate, needs: [b] }\n',
    expected: 'r.yaml:4:11 dependency-cycle: dependency cycle: a -> c -> b -> a',
    path: 'stages[0].needs',
    hint: 'read `a -> c` as "`a` needs `c`"; remove one of these `needs` to break the cycle',
  },
  {
    name: 'a cycle reached from a stage outside it starts where the walk enters it',
    stages:
      '  - { id: root, uses: prune }\n' +
      '  - { id: s, uses: evaluate, needs: [root, b] }\n' +
      '  - { id: a, uses: prune, needs: [c] }\n' +
      '  - { id: b, uses: quantize, needs: [a] }\n' +
      '  - { id: c, uses: evaluate, needs: [b] }\n',
    expected: 'r.yaml:7:11 dependency-cycle: dependency cycle: b -> a -> c -> b',
    path: 'stages[3].needs',
    hint: 'read `b -> a` as "`b` needs `a`"; remove one of these `needs` to break the cycle',
  },
];

describe('dependency cycles', () => {
  test.each(cases)('$name', async ({ stages, expected, path, hint }) => {
    const registry = planRegistry();
    const recipe = await load(await tempDir(), `${HEAD}stages:\n${stages}`, registry);
    const graph = buildGraph(recipe, registry);
    expect(graph.ok).toBe(false);
    if (graph.ok) return;
    expect(lines(graph.diagnostics)).toEqual([expected]);
    expect(graph.diagnostics[0]!.path).toBe(path);
    expect(graph.diagnostics[0]!.hints?.[0]).toBe(hint);
  });

  test('findStageCycle walks from a stage to what it needs', () => {
    const spec = (id: string, needs: string[]) => ({ id, needs }) as never;
    expect(findStageCycle([spec('a', ['b']), spec('b', ['c']), spec('c', ['a'])])).toEqual(['a', 'b', 'c', 'a']);
    expect(findStageCycle([spec('a', []), spec('b', ['a']), spec('c', ['b'])])).toBeUndefined();
    // A diamond is not a cycle.
    expect(findStageCycle([spec('a', []), spec('b', ['a']), spec('c', ['a']), spec('d', ['b', 'c'])])).toBeUndefined();
  });

  test.each([
    ['in a list', '  - id: a\n    uses: prune\n    needs: [b, a]\n  - id: b\n    uses: prune\n    needs: []\n', 'r.yaml:6:16'],
    ['as a single id', '  - id: a\n    uses: prune\n    needs: a\n', 'r.yaml:6:12'],
  ])('a stage that needs itself is reported by validation (%s)', async (_name, stages, at) => {
    const dir = await tempDir();
    await writeFiles(dir, { 'r.yaml': `${HEAD}stages:\n${stages}` });
    const loaded = await loadRecipe(join(dir, 'r.yaml'), { registry: planRegistry(), cwd: dir });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(lines(loaded.diagnostics)).toEqual([`${at} dependency-cycle: stage \`a\` needs itself`]);
  });
});
