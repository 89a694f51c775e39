/**
 * The "Allowed imports" of docs/architecture.md as dependency-cruiser rules,
 * checked on src/ by test/architecture.test.ts (so `npm test` fails on a
 * forbidden import) and by hand with:
 *
 *     npx depcruise src --config .dependency-cruiser.cjs
 *
 * Each rule names the arrow of the architecture it protects; when the
 * architecture changes, docs/architecture.md and this file change together.
 * Type-only imports count (tsPreCompilationDeps): a type still couples the
 * folders, and the contracts exist precisely so readers need no stage types.
 */
const layer = (name) => `^src/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'nothing-imports-cli',
      comment: 'src/cli is the composition root: it reads argv, writes stdout and wires everything; nothing below it imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: layer('cli') },
      to: { path: layer('cli') },
    },
    {
      name: 'run-does-not-render',
      comment: 'src/run executes and records (run.json); reports and the browser check are written by the CLI after a run (src/cli/after-run-reports.ts).',
      severity: 'error',
      from: { path: layer('run') },
      to: { path: [layer('report'), layer('browser'), layer('contracts')] },
    },
    {
      name: 'run-loads-stages-only-in-the-worker',
      comment: 'Stages run in worker threads: only worker-entry.ts builds the stage registry; the scheduler sees stages through the plugin API.',
      severity: 'error',
      from: { path: layer('run'), pathNot: '^src/run/worker-entry\\.ts$' },
      to: { path: layer('stages') },
    },
    {
      name: 'stages-get-a-context',
      comment: 'Stages never import run internals, the planner, the cache, the recipe loader, the reports or the CLI: they get a StageContext.',
      severity: 'error',
      from: { path: layer('stages') },
      to: { path: [layer('run'), layer('plan'), layer('cache'), layer('recipe'), layer('report'), layer('cli')] },
    },
    {
      name: 'report-reads-contracts-and-records',
      comment: 'The renderers read run.json (src/run/run-record.ts) and the stage-output contracts (src/contracts); never stage code (tfjs), the engine or a browser.',
      severity: 'error',
      from: { path: layer('report') },
      to: {
        path: '^src/',
        pathNot: [layer('report'), layer('contracts'), '^src/run/run-record\\.ts$', '^src/plugin\\.ts$'],
      },
    },
    {
      name: 'contracts-stand-alone',
      comment: 'A stage-output contract is imported by stages, reports and the CLI, so it imports nothing of modelpress but the plugin API types, and no tfjs or node: modules.',
      severity: 'error',
      from: { path: layer('contracts') },
      to: { path: '^src/', pathNot: [layer('contracts'), '^src/plugin\\.ts$'] },
    },
    {
      name: 'contracts-without-runtime-dependencies',
      comment: 'Contracts are plain data and functions over it: no node: modules and no npm packages (tfjs above all).',
      severity: 'error',
      from: { path: layer('contracts') },
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg'] },
    },
    {
      name: 'loader-is-browser-safe',
      comment: 'modelpress/loader runs in browsers: nothing else from modelpress and no node: modules.',
      severity: 'error',
      from: { path: layer('loader') },
      to: { path: '^src/', pathNot: layer('loader') },
    },
    {
      name: 'loader-without-node',
      comment: 'modelpress/loader runs in browsers: no node: modules.',
      severity: 'error',
      from: { path: layer('loader') },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-measures-only',
      comment: 'src/browser takes the shared latency statistics and stopping rule (measure: sample-stats, latency-stats, latency-protocol, stopping-rule), the seeded PRNG (data/dataset.ts) and the loader bundle; nothing of stages, run, plan, recipe, cache, report or cli.',
      severity: 'error',
      from: { path: layer('browser') },
      to: {
        path: '^src/',
        pathNot: [
          layer('browser'),
          layer('loader'),
          '^src/measure/(sample-stats|latency-stats|latency-protocol|stopping-rule)\\.ts$',
          '^src/data/dataset\\.ts$',
          '^src/package-info\\.ts$',
        ],
      },
    },
    {
      name: 'lower-layers-stay-below',
      comment: 'engine, data, measure and formats are used by stages (and the planner, for data fingerprints); they do not reach up into stages, run, plan, reports or the CLI.',
      severity: 'error',
      from: { path: ['^src/(engine|data|measure|formats)/'] },
      to: { path: [layer('stages'), layer('run'), layer('plan'), layer('report'), layer('cli'), layer('browser'), layer('contracts')] },
    },
    {
      name: 'plan-below-run',
      comment: 'cli -> run -> plan -> recipe: the planner does not import the runner, stages, reports or the CLI.',
      severity: 'error',
      from: { path: layer('plan') },
      to: { path: [layer('run'), layer('stages'), layer('report'), layer('cli'), layer('browser')] },
    },
    {
      name: 'recipe-below-plan',
      comment: 'cli -> run -> plan -> recipe: recipes are loaded and validated without the planner, runner, cache, stages or reports.',
      severity: 'error',
      from: { path: layer('recipe') },
      to: { path: [layer('plan'), layer('run'), layer('cache'), layer('stages'), layer('report'), layer('cli'), layer('browser')] },
    },
    {
      name: 'cache-is-a-leaf',
      comment: 'The content-addressed store knows bytes and digests, nothing of recipes, plans or stages.',
      severity: 'error',
      from: { path: layer('cache') },
      to: { path: '^src/', pathNot: layer('cache') },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // ESM TypeScript imports name the emitted `.js`; resolve them to the `.ts` source.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
  },
};
