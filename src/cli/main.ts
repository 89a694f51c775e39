/**
 * The composition root: parses argv, builds what a command needs and maps
 * outcomes to exit codes. Usage errors exit 2 with commander's message;
 * nothing a user can type produces a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../package-info.js';
import { cacheClear, cacheExplain, cacheGc, cacheLs } from './commands/cache.js';
import { initCommand } from './commands/init.js';
import type { InitOptions } from './commands/init.js';
import { inspectCommand } from './commands/inspect.js';
import { planCommand } from './commands/plan.js';
import { reportCommand } from './commands/report.js';
import { reproduceCommand } from './commands/reproduce.js';
import { runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';
import { inspectOnnxCommand } from './commands/inspect-onnx.js';
import { workerCommand } from './commands/worker.js';
import type { Io } from './io.js';
import { EXIT, processIo } from './io.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('modelpress')
    .description('Compress TensorFlow.js models through declarative YAML recipes.')
    .version(PACKAGE_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run `modelpress --help` for usage)');

  program
    .command('validate')
    .description('check a recipe (extends, vars, overrides, schemas) without running it')
    .argument('<recipe>', 'path to the recipe YAML file')
    .option('--set <path=value>', 'override a value, e.g. --set stages.prune.with.sparsity=0.9 (repeatable)', collect, [])
    .option('--print', 'print the fully resolved recipe as YAML', false)
    .action(async (recipe: string, opts: { set: string[]; print: boolean }) => {
      code = await validateCommand(recipe, opts, io);
    });

  const setOption = ['--set <path=value>', 'override a recipe value, e.g. --set stages.prune.with.sparsity=0.9 (repeatable)'] as const;
  program
    .command('plan')
    .description('show the stage graph in order and, per node, whether it is cached or will run and why')
    .argument('<recipe>', 'path to the recipe YAML file')
    .option(...setOption, collect, [])
    .option('--cache-dir <dir>', 'cache directory (default: $MODELPRESS_CACHE_DIR, else the project\'s node_modules/.cache/modelpress)')
    .option('--backend <name>', 'predict for this backend: tfjs-node, wasm or cpu (default: best installed)')
    .option('--json', 'print the plan as JSON', false)
    .action(async (recipe: string, opts: { set: string[]; cacheDir?: string; json: boolean; backend?: string }) => {
      code = await planCommand(recipe, opts, io);
    });

  program
    .command('run')
    .description('run a recipe: every node cached by content, independent stages in parallel worker threads')
    .argument('<recipe>', 'path to the recipe YAML file')
    .option(...setOption, collect, [])
    .option('--out <dir>', 'run directory (default: runs/<recipe name>/<timestamp>)')
    .option('--jobs <n>', 'most stages running at once (default: number of cores)')
    .option('--cache-dir <dir>', 'cache directory (default: $MODELPRESS_CACHE_DIR, else the project\'s node_modules/.cache/modelpress)')
    .option('--backend <name>', 'force the tfjs backend: tfjs-node, wasm or cpu (default: best installed)')
    .option('--worker-memory-mb <mb>', "heap limit per stage worker (default: Node's)")
    .option('--queue <redis-url>', 'run cache misses on `modelpress worker` processes through BullMQ on this Redis, e.g. redis://127.0.0.1:6379 (docs/distributed.md)')
    .option('--redis-lost-ms <ms>', 'with --queue: how long Redis may be unreachable before the run fails (default: 10000)')
    .option('--json', 'print events as JSON lines instead of human output', false)
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .action(async (recipe: string, opts: Parameters<typeof runCommand>[1]) => {
      code = await runCommand(recipe, opts, io);
    });

  program
    .command('worker')
    .description('run the nodes `run --queue` enqueues, on this machine, into the shared cache (docs/distributed.md)')
    .option('--queue <redis-url>', 'the Redis of the queue, e.g. redis://10.0.0.5:6379')
    .option('--cache-dir <dir>', 'the shared cache every submitter and worker mounts (default: $MODELPRESS_CACHE_DIR)')
    .option('--jobs <n>', 'nodes run at once (default: 1)')
    .option('--work-dir <dir>', 'scratch space for running stages (default: <tmp>/modelpress-worker-<pid>)')
    .option('--lock-ms <ms>', 'job lock duration: a killed worker\'s node goes to another worker after about twice this (default: 30000)')
    .option('--max-stalled <n>', 'times a node may lose its worker before its run fails (default: 2)')
    .option('--redis-lost-ms <ms>', 'how long Redis may be unreachable before the worker exits 1 (default: 10000)')
    .option('--worker-memory-mb <mb>', "heap limit per stage thread (default: Node's)")
    .action(async (opts: Parameters<typeof workerCommand>[0]) => {
      code = await workerCommand(opts, io);
    });

  program
    .command('reproduce')
    .description("re-run a run.json's resolved recipe without the cache and compare artifact digests node by node")
    .argument('<run.json>', 'a run record written by `modelpress run`')
    .option('--out <dir>', 'run directory for the reproduction (default: reproduce/ beside run.json)')
    .option('--jobs <n>', 'most stages running at once (default: number of cores)')
    .option('--json', 'print events as JSON lines', false)
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .action(async (record: string, opts: Parameters<typeof reproduceCommand>[1]) => {
      code = await reproduceCommand(record, opts, io);
    });

  program
    .command('report')
    .description('re-render report.md and report.html of a run directory (--screenshot: check it in Chromium, save report.png), or compare two runs')
    .argument('<run-dir>', 'a run directory written by `modelpress run`')
    .option('--compare <other-run-dir>', 'print what differs between the two runs')
    .option('--screenshot', 'also open report.html in headless Chromium, check it and save report.png', false)
    .action(async (runDir: string, opts: { compare?: string; screenshot: boolean }) => {
      code = await reportCommand(runDir, opts, io);
    });

  program
    .command('inspect')
    .description('show a model: layers in graph order, shapes, params, non-zeros, storage, MACs, which stages act on which layers, sizes; for .onnx: the graph, the tfjs layer chosen for each node, and the check against ONNX Runtime on random inputs')
    .argument('<model>', 'a tfjs model directory, its model.json, a packed .mpk file, or an .onnx file')
    .option('--json', 'print the report as JSON', false)
    .option('--seed <n>', '.onnx only: seed of the random inputs of the ONNX Runtime check (default: 1)')
    .action(async (model: string, opts: { json: boolean; seed?: string }) => {
      code = /\.onnx$/i.test(model)
        ? await inspectOnnxCommand(model, { json: opts.json, seed: opts.seed !== undefined ? Number(opts.seed) : undefined }, io)
        : await inspectCommand(model, { json: opts.json }, io);
    });

  program
    .command('init')
    .description('write a commented starter recipe for your model: asks for (or takes) the model, data, device and budget, inspects the model, validates what it wrote')
    .option('--model <dir>', 'a tfjs model directory (model.json + weights)')
    .option('--data <path>', 'evaluation data: a .csv, a folder with x.npy and y.npy, a folder of images (a sub-folder per class), or mnist')
    .option('--device <name>', 'a shipped device preset (pipelines/devices/): web-mobile, web-desktop, node-server, microcontroller (default: web-mobile)')
    .option('--budget-size-kb <kb>', "size limit of the model's files in KB (overrides the preset's budget)")
    .option('--budget-gzip-kb <kb>', 'gzip size limit in KB')
    .option('--budget-latency-ms <ms>', 'p95 latency limit in ms')
    .option('--budget-accuracy-drop-pp <pp>', 'largest accuracy drop from your model, in percentage points')
    .option('--out <file>', 'the recipe to write (default: compress/<device>.yaml)')
    .option('--name <name>', 'the recipe name (default: <model folder>-<device>)')
    .option('--force', 'overwrite an existing recipe', false)
    .option('--yes', 'never ask: take defaults (for scripts; also without a terminal)', false)
    .action(async (opts: InitOptions) => {
      code = await initCommand(opts, io);
    });

  const cache = program.command('cache').description('inspect and clean the content-addressed cache');
  const cacheOpts = (c: Command) =>
    c
      .option('--cache-dir <dir>', 'cache directory (default: $MODELPRESS_CACHE_DIR, else the node_modules/.cache/modelpress of the project holding --recipe or this folder)')
      .option('--recipe <file>', 'find the project (and an old per-recipe cache) from this recipe instead of this folder');
  cacheOpts(cache.command('ls').description('list entries, newest first')).action(async (opts) => {
    code = await cacheLs(opts, io);
  });
  cacheOpts(cache.command('explain').description('show the key record behind a node\'s cache entry').argument('<node>', 'node id, e.g. prune[sparsity=0.9]')).action(
    async (node: string, opts) => {
      code = await cacheExplain(node, opts, io);
    },
  );
  cacheOpts(cache.command('gc').description('remove entries unused for N days and leftovers of killed runs').option('--keep-days <n>', 'keep entries used within this many days', '30')).action(
    async (opts: { keepDays?: string; cacheDir?: string; recipe?: string }) => {
      code = await cacheGc(opts.keepDays, opts, io);
    },
  );
  cacheOpts(cache.command('clear').description('remove every entry')).action(async (opts) => {
    code = await cacheClear(opts, io);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    io.err(`modelpress: internal error: ${(err as Error).stack ?? String(err)}\nThis is a bug; please report it with the command you ran.\n`);
    return EXIT.stageFailed;
  }
  return code;
}
