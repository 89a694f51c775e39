import { buildGraph } from '../../src/plan/graph.js';
import { HEAD, graphOf, lines, load, planRegistry, useTempDirs } from './helpers.js';
import type { Json } from '../../src/plugin.js';

const tempDir = useTempDirs();

interface Case {
  name: string;
  /** The recipe's `stages:` section (the header is added). */
  stages: string;
  /** Nodes in execution order, each `id <- input, input` (`id` alone for a root). */
  nodes: string[];
  sinks: string[];
  /** Exact node configs (defaults included) for some nodes. */
  configs?: Record<string, Json>;
  /** Exact node matrices for some nodes. */
  matrices?: Record<string, Record<string, string | number | boolean>>;
}

const cases: Case[] = [
  {
    name: 'default needs: each stage takes the one before it',
    stages: `
  - { id: p, uses: prune }
  - { id: q, uses: quantize }
  - { id: e, uses: evaluate }
`,
    nodes: ['p', 'q <- p', 'e <- q'],
    sinks: ['e'],
    configs: { p: { sparsity: 0.5, method: 'magnitude', epochs: 0 }, q: { weights: 'uint8' }, e: {} },
  },
  {
    name: 'explicit needs, as a list and as a single id, in the order written',
    stages: `
  - { id: p, uses: prune }
  - { id: q, uses: quantize, needs: [] }
  - { id: e, uses: evaluate, needs: [q, p] }
  - { id: f, uses: evaluate, needs: p }
`,
    nodes: ['p', 'q', 'e <- q, p', 'f <- p'],
    sinks: ['e', 'f'],
  },
  {
    name: '`needs: []` makes roots; every root with no consumer is a sink',
    stages: `
  - { id: p, uses: prune }
  - { id: q, uses: quantize, needs: [] }
  - { id: r, uses: prune, needs: [] }
`,
    nodes: ['p', 'q', 'r'],
    sinks: ['p', 'q', 'r'],
  },
  {
    name: 'topological order: a stage listed before what it needs runs after it',
    stages: `
  - { id: q, uses: quantize, needs: [p] }
  - { id: e, uses: evaluate, needs: [q] }
  - { id: p, uses: prune, needs: [] }
  - { id: x, uses: evaluate, needs: [] }
`,
    // p is the first stage whose needs are met; x stays in recipe order after the chain it does not need.
    nodes: ['p', 'q <- p', 'e <- q', 'x'],
    sinks: ['e', 'x'],
  },
  {
    name: 'matrix fan-out: one node per combination, last key fastest, values in the order written',
    stages: `
  - id: prune
    uses: prune
    matrix: { sparsity: [0.9, 0.8], method: [l2, l1] }
    with: { sparsity: "\${matrix.sparsity}", method: "\${matrix.method}" }
`,
    nodes: [
      'prune[sparsity=0.9,method=l2]',
      'prune[sparsity=0.9,method=l1]',
      'prune[sparsity=0.8,method=l2]',
      'prune[sparsity=0.8,method=l1]',
    ],
    sinks: [
      'prune[sparsity=0.9,method=l2]',
      'prune[sparsity=0.9,method=l1]',
      'prune[sparsity=0.8,method=l2]',
      'prune[sparsity=0.8,method=l1]',
    ],
    configs: {
      // The number stays a number; `epochs` comes from the schema default.
      'prune[sparsity=0.9,method=l2]': { sparsity: 0.9, method: 'l2', epochs: 0 },
      'prune[sparsity=0.8,method=l1]': { sparsity: 0.8, method: 'l1', epochs: 0 },
    },
    matrices: { 'prune[sparsity=0.8,method=l1]': { sparsity: 0.8, method: 'l1' } },
  },
  {
    name: 'matrix values keep their types, also spliced into a longer string',
    stages: `
  - id: q
    uses: quantize
    matrix: { bits: [8, 16], w: [uint] }
    with: { bits: "\${matrix.bits}", weights: "\${matrix.w}\${matrix.bits}" }
`,
    nodes: ['q[bits=8,w=uint]', 'q[bits=16,w=uint]'],
    sinks: ['q[bits=8,w=uint]', 'q[bits=16,w=uint]'],
    configs: { 'q[bits=8,w=uint]': { bits: 8, weights: 'uint8' }, 'q[bits=16,w=uint]': { bits: 16, weights: 'uint16' } },
    matrices: { 'q[bits=16,w=uint]': { bits: 16, w: 'uint' } },
  },
  {
    name: 'downstream fan-out: stages after a matrix stage get one node per candidate',
    stages: `
  - id: prune
    uses: prune
    matrix: { sparsity: [0.9, 0.8] }
    with: { sparsity: "\${matrix.sparsity}" }
  - { id: quantize, uses: quantize, with: { weights: float16 } }
  - { id: eval, uses: evaluate }
`,
    nodes: [
      'prune[sparsity=0.9]',
      'prune[sparsity=0.8]',
      'quantize[sparsity=0.9] <- prune[sparsity=0.9]',
      'quantize[sparsity=0.8] <- prune[sparsity=0.8]',
      'eval[sparsity=0.9] <- quantize[sparsity=0.9]',
      'eval[sparsity=0.8] <- quantize[sparsity=0.8]',
    ],
    sinks: ['eval[sparsity=0.9]', 'eval[sparsity=0.8]'],
    configs: {
      'prune[sparsity=0.8]': { sparsity: 0.8, method: 'magnitude', epochs: 0 },
      'quantize[sparsity=0.8]': { weights: 'float16' },
    },
    matrices: { 'quantize[sparsity=0.8]': { sparsity: 0.8 }, 'eval[sparsity=0.9]': { sparsity: 0.9 } },
  },
  {
    name: 'two matrices in a chain: the cartesian product, upstream values first',
    stages: `
  - id: prune
    uses: prune
    matrix: { sparsity: [0.9, 0.8] }
    with: { sparsity: "\${matrix.sparsity}" }
  - id: quantize
    uses: quantize
    matrix: { weights: [uint8, float16] }
    with: { weights: "\${matrix.weights}" }
`,
    nodes: [
      'prune[sparsity=0.9]',
      'prune[sparsity=0.8]',
      'quantize[sparsity=0.9,weights=uint8] <- prune[sparsity=0.9]',
      'quantize[sparsity=0.9,weights=float16] <- prune[sparsity=0.9]',
      'quantize[sparsity=0.8,weights=uint8] <- prune[sparsity=0.8]',
      'quantize[sparsity=0.8,weights=float16] <- prune[sparsity=0.8]',
    ],
    sinks: [
      'quantize[sparsity=0.9,weights=uint8]',
      'quantize[sparsity=0.9,weights=float16]',
      'quantize[sparsity=0.8,weights=uint8]',
      'quantize[sparsity=0.8,weights=float16]',
    ],
    configs: { 'quantize[sparsity=0.8,weights=float16]': { weights: 'float16' } },
    matrices: { 'quantize[sparsity=0.8,weights=float16]': { sparsity: 0.8, weights: 'float16' } },
  },
  {
    name: 'the same matrix key in two chained stages is qualified by the later stage id',
    stages: `
  - id: a
    uses: quantize
    matrix: { bits: [4, 8] }
    with: { bits: "\${matrix.bits}" }
  - id: b
    uses: quantize
    matrix: { bits: [8] }
    with: { bits: "\${matrix.bits}" }
`,
    nodes: ['a[bits=4]', 'a[bits=8]', 'b[bits=4,b.bits=8] <- a[bits=4]', 'b[bits=8] <- a[bits=8]'],
    sinks: ['b[bits=4,b.bits=8]', 'b[bits=8]'],
    configs: { 'b[bits=4,b.bits=8]': { bits: 8, weights: 'uint8' } },
  },
  {
    name: 'fan-in: one node whose inputs are every candidate, in order',
    stages: `
  - id: prune
    uses: prune
    matrix: { sparsity: [0.9, 0.8, 0.5] }
    with: { sparsity: "\${matrix.sparsity}" }
  - { id: pick, uses: select }
  - { id: eval, uses: evaluate }
`,
    nodes: [
      'prune[sparsity=0.9]',
      'prune[sparsity=0.8]',
      'prune[sparsity=0.5]',
      'pick <- prune[sparsity=0.9], prune[sparsity=0.8], prune[sparsity=0.5]',
      'eval <- pick',
    ],
    sinks: ['eval'],
    configs: { pick: { metric: 'accuracy' } },
    matrices: { pick: {}, eval: {} },
  },
  {
    name: 'fan-in over several needs: candidates of each need, in needs order',
    stages: `
  - id: a
    uses: prune
    matrix: { sparsity: [0.9, 0.8] }
    with: { sparsity: "\${matrix.sparsity}" }
  - id: b
    uses: quantize
    needs: []
    matrix: { weights: [uint8, float16] }
    with: { weights: "\${matrix.weights}" }
  - { id: pick, uses: select, needs: [b, a], with: { metric: size } }
`,
    nodes: [
      'a[sparsity=0.9]',
      'a[sparsity=0.8]',
      'b[weights=uint8]',
      'b[weights=float16]',
      'pick <- b[weights=uint8], b[weights=float16], a[sparsity=0.9], a[sparsity=0.8]',
    ],
    sinks: ['pick'],
    configs: { pick: { metric: 'size' } },
  },
  {
    name: 'independent sweeps joined by one stage: every pairing',
    stages: `
  - id: a
    uses: prune
    matrix: { sparsity: [0.9, 0.8] }
    with: { sparsity: "\${matrix.sparsity}" }
  - id: b
    uses: quantize
    needs: []
    matrix: { weights: [uint8, float16] }
    with: { weights: "\${matrix.weights}" }
  - { id: e, uses: evaluate, needs: [a, b] }
`,
    nodes: [
      'a[sparsity=0.9]',
      'a[sparsity=0.8]',
      'b[weights=uint8]',
      'b[weights=float16]',
      'e[sparsity=0.9,weights=uint8] <- a[sparsity=0.9], b[weights=uint8]',
      'e[sparsity=0.9,weights=float16] <- a[sparsity=0.9], b[weights=float16]',
      'e[sparsity=0.8,weights=uint8] <- a[sparsity=0.8], b[weights=uint8]',
      'e[sparsity=0.8,weights=float16] <- a[sparsity=0.8], b[weights=float16]',
    ],
    sinks: [
      'e[sparsity=0.9,weights=uint8]',
      'e[sparsity=0.9,weights=float16]',
      'e[sparsity=0.8,weights=uint8]',
      'e[sparsity=0.8,weights=float16]',
    ],
  },
  {
    name: 'a diamond joins the branches of one upstream candidate, never two different ones',
    stages: `
  - id: p
    uses: prune
    matrix: { sparsity: [0.9, 0.8] }
    with: { sparsity: "\${matrix.sparsity}" }
  - { id: q1, uses: quantize, needs: p }
  - { id: q2, uses: evaluate, needs: p }
  - { id: e, uses: evaluate, needs: [q1, q2] }
`,
    nodes: [
      'p[sparsity=0.9]',
      'p[sparsity=0.8]',
      'q1[sparsity=0.9] <- p[sparsity=0.9]',
      'q1[sparsity=0.8] <- p[sparsity=0.8]',
      'q2[sparsity=0.9] <- p[sparsity=0.9]',
      'q2[sparsity=0.8] <- p[sparsity=0.8]',
      'e[sparsity=0.9] <- q1[sparsity=0.9], q2[sparsity=0.9]',
      'e[sparsity=0.8] <- q1[sparsity=0.8], q2[sparsity=0.8]',
    ],
    sinks: ['e[sparsity=0.9]', 'e[sparsity=0.8]'],
    matrices: { 'e[sparsity=0.8]': { sparsity: 0.8 } },
  },
  {
    name: 'after a fan-in, each candidate of the same sweep pairs with the one fan-in node',
    stages: `
  - id: p
    uses: prune
    matrix: { sparsity: [0.9, 0.8] }
    with: { sparsity: "\${matrix.sparsity}" }
  - { id: pick, uses: select }
  - { id: q, uses: quantize, needs: p }
  - { id: e, uses: evaluate, needs: [pick, q] }
`,
    nodes: [
      'p[sparsity=0.9]',
      'p[sparsity=0.8]',
      'pick <- p[sparsity=0.9], p[sparsity=0.8]',
      'q[sparsity=0.9] <- p[sparsity=0.9]',
      'q[sparsity=0.8] <- p[sparsity=0.8]',
      'e[sparsity=0.9] <- pick, q[sparsity=0.9]',
      'e[sparsity=0.8] <- pick, q[sparsity=0.8]',
    ],
    sinks: ['e[sparsity=0.9]', 'e[sparsity=0.8]'],
  },
];

describe('buildGraph', () => {
  test.each(cases)('$name', async ({ stages, nodes, sinks, configs, matrices }) => {
    const graph = await graphOf(await tempDir(), `${HEAD}stages:${stages}`);
    expect(graph.nodes.map((n) => (n.inputs.length > 0 ? `${n.id} <- ${n.inputs.join(', ')}` : n.id))).toEqual(nodes);
    expect(graph.sinks).toEqual(sinks);
    expect([...graph.byId.keys()]).toEqual(graph.nodes.map((n) => n.id));
    for (const [id, config] of Object.entries(configs ?? {})) expect([id, graph.byId.get(id)?.config]).toEqual([id, config]);
    for (const [id, matrix] of Object.entries(matrices ?? {})) expect([id, graph.byId.get(id)?.matrix]).toEqual([id, matrix]);
    // Every input is planned before the node that takes it.
    const seen = new Set<string>();
    for (const n of graph.nodes) {
      for (const i of n.inputs) expect([n.id, seen.has(i)]).toEqual([n.id, true]);
      seen.add(n.id);
    }
  });

  test('nodes carry their stage spec, definition and source', async () => {
    const graph = await graphOf(await tempDir(), `${HEAD}stages:\n  - { id: p, uses: prune, with: { sparsity: 0.7 } }\n`);
    const [p] = graph.nodes;
    expect(p).toMatchObject({ id: 'p', source: 'builtin', matrix: {}, inputs: [], config: { sparsity: 0.7, method: 'magnitude', epochs: 0 } });
    expect(p!.def.name).toBe('prune');
    expect(p!.stage.id).toBe('p');
    expect(p!.stage.loc).toMatchObject({ file: 'r.yaml', line: 4, column: 11 });
  });

  test('matrix nodes get their own config objects (no sharing between candidates)', async () => {
    const graph = await graphOf(
      await tempDir(),
      `${HEAD}stages:\n  - id: p\n    uses: prune\n    matrix: { s: [0.1, 0.2] }\n    with: { sparsity: "\${matrix.s}" }\n`,
    );
    const [a, b] = graph.nodes;
    expect(a!.config).not.toBe(b!.config);
    expect([a!.config.sparsity, b!.config.sparsity]).toEqual([0.1, 0.2]);
  });
});

describe('buildGraph diagnostics', () => {
  test.each([
    {
      name: 'a matrix value listed twice',
      stages: '  - id: p\n    uses: quantize\n    matrix: { bits: [8, 4, 8] }\n    with: { bits: "${matrix.bits}" }\n',
      expected: ['r.yaml:6:28 bad-value: `stages[0].matrix.bits` lists `8` twice: matrix values become node ids, so they must differ as text'],
    },
    {
      name: 'matrix values equal as text (a number and a string)',
      stages: '  - id: p\n    uses: evaluate\n    matrix:\n      n: [1, "1"]\n  - { id: e, uses: evaluate }\n',
      expected: ['r.yaml:7:14 bad-value: `stages[0].matrix.n` lists `1` twice: matrix values become node ids, so they must differ as text'],
    },
  ])('$name', async ({ stages, expected }) => {
    const registry = planRegistry();
    const recipe = await load(await tempDir(), `${HEAD}stages:\n${stages}`, registry);
    const graph = buildGraph(recipe, registry);
    expect(graph.ok).toBe(false);
    if (!graph.ok) expect(lines(graph.diagnostics)).toEqual(expected);
  });
});
