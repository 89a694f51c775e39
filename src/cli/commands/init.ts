/**
 * `modelpress init`: a starter recipe for the user's own model. Asks (on a
 * terminal) or takes flags for the model (a tfjs model directory), the
 * evaluation data (a .csv, a folder with x.npy + y.npy, a folder of images,
 * or `mnist`), the device (a shipped preset under pipelines/devices/) and
 * the budget; inspects the model (src/inspect: input shape, outputs,
 * layers); writes the commented recipe (src/cli/init-recipe.ts) and
 * validates it as `modelpress validate` would, so what it leaves behind
 * runs. With --yes, or without a terminal on stdin, it never asks: every
 * missing answer takes its default, and a missing --model or --data is a
 * usage error (exit 2).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parse } from 'yaml';
import type { BudgetKey } from '../../contracts/budget.js';
import { inspectModel } from '../../inspect/inspect-model.js';
import { PACKAGE_ROOT } from '../../package-info.js';
import { renderStarterRecipe } from '../init-recipe.js';
import type { DataChoice, ModelFacts } from '../init-recipe.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { formatDiagnostics } from '../print-diagnostics.js';
import { prepare } from './prepare.js';
import { summarize } from './validate.js';

export interface InitOptions {
  /** A tfjs model directory (or its model.json). Asked when missing on a terminal. */
  model?: string;
  /** Evaluation data: a .csv file, a folder with x.npy and y.npy, a folder of images, or `mnist`. */
  data?: string;
  /** A shipped device preset. Default: `web-mobile`. */
  device?: string;
  /** Budget limits overriding the preset's (numbers as typed). */
  budgetSizeKb?: string;
  budgetGzipKb?: string;
  budgetLatencyMs?: string;
  budgetAccuracyDropPp?: string;
  /** The recipe file to write. Default: `compress/<device>.yaml`. */
  out?: string;
  /** `name:` of the recipe. Default: `<model folder>-<device>`. */
  name?: string;
  /** Overwrite an existing recipe. Default: false. */
  force?: boolean;
  /** Never ask; take defaults. Default: false (ask on a terminal). */
  yes?: boolean;
}

/** Asks one question with a default; resolves to the answer (the default when empty). */
export type Ask = (question: string, fallback: string | undefined) => Promise<string>;

/** The flag of each budget limit init takes. */
const BUDGET_FLAGS: readonly [keyof InitOptions, BudgetKey, string][] = [
  ['budgetSizeKb', 'size_kb', '--budget-size-kb'],
  ['budgetGzipKb', 'size_gzip_kb', '--budget-gzip-kb'],
  ['budgetLatencyMs', 'latency_ms_p95', '--budget-latency-ms'],
  ['budgetAccuracyDropPp', 'accuracy_drop_pp', '--budget-accuracy-drop-pp'],
];

const DEFAULT_DEVICE = 'web-mobile';

/** The shipped device presets: the names of pipelines/devices/*.yaml, sorted. */
export async function devicePresets(root = PACKAGE_ROOT): Promise<string[]> {
  const files = await readdir(join(root, 'pipelines', 'devices'));
  return files.filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

async function presetBudget(device: string, root = PACKAGE_ROOT): Promise<Partial<Record<BudgetKey, number>>> {
  const doc = parse(await readFile(join(root, 'pipelines', 'devices', `${device}.yaml`), 'utf8')) as { devices?: Record<string, { budget?: Record<string, number> }> };
  return (doc.devices?.[device]?.budget ?? {}) as Partial<Record<BudgetKey, number>>;
}

/** A path as a recipe names it: relative to the recipe's folder, `/` separators, `./` when inside it. */
function fromRecipe(recipeDir: string, target: string): string {
  const rel = relative(recipeDir, target).split(sep).join('/');
  return rel.startsWith('..') ? rel : `./${rel}`;
}

/**
 * Recognises the evaluation data: `mnist`, a `.csv` file, a folder holding
 * x.npy and y.npy, or any other folder as images (one sub-folder per class).
 * Returns the dataset entry, or what was expected.
 */
export function dataChoice(data: string, cwd: string, recipeDir: string, model: Pick<ModelFacts, 'inputShape'>): DataChoice | { error: string } {
  const shape = model.inputShape;
  if (data === 'mnist') {
    const flat = shape !== null && shape.length === 1;
    return { kind: 'mnist', test: { uses: 'mnist', split: 'test', ...(flat ? { flatten: true } : {}), limit: 2000 } };
  }
  const path = resolve(cwd, data);
  if (!existsSync(path)) return { error: `--data ${data}: no such file or folder` };
  const isDir = statSync(path).isDirectory();
  if (!isDir && extname(path).toLowerCase() === '.csv') return { kind: 'csv', test: { uses: 'csv', file: fromRecipe(recipeDir, path) } };
  if (!isDir && extname(path).toLowerCase() === '.npy') {
    const y = join(dirname(path), basename(path).replace(/x(?=[^x]*$)/i, (c) => (c === 'X' ? 'Y' : 'y')));
    if (y !== path && existsSync(y)) return { kind: 'npy', test: { uses: 'npy', x: fromRecipe(recipeDir, path), y: fromRecipe(recipeDir, y) } };
    return { error: `--data ${data}: a .npy of features needs its labels beside it (${basename(y)}); give the folder holding x.npy and y.npy` };
  }
  if (isDir && existsSync(join(path, 'x.npy')) && existsSync(join(path, 'y.npy'))) {
    return { kind: 'npy', test: { uses: 'npy', x: fromRecipe(recipeDir, join(path, 'x.npy')), y: fromRecipe(recipeDir, join(path, 'y.npy')) } };
  }
  if (isDir) {
    const image = shape !== null && shape.length === 3 && typeof shape[0] === 'number' && typeof shape[1] === 'number' ? shape : null;
    const channels = image && (image[2] === 1 || image[2] === 3) ? image[2] : undefined;
    return {
      kind: 'images',
      test: { uses: 'images', path: fromRecipe(recipeDir, path), ...(image ? { size: [image[0]!, image[1]!] } : {}), ...(channels ? { channels } : {}) },
    };
  }
  return { error: `--data ${data}: Expected a .csv file, a folder with x.npy and y.npy, a folder of images (one sub-folder per class), or \`mnist\`, got a ${extname(path) || 'file without extension'}` };
}

function terminalAsk(): { ask: Ask; close: () => void } {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return {
    ask: async (question, fallback) => (await rl.question(`${question}${fallback !== undefined ? ` [${fallback}]` : ''}: `)).trim() || (fallback ?? ''),
    close: () => rl.close(),
  };
}

/**
 * Runs init. `ask` is the terminal's prompt by default (when stdin is a TTY
 * and --yes is not given); tests pass their own answers.
 */
export async function initCommand(opts: InitOptions, io: Io, askOverride?: Ask): Promise<number> {
  const fail = (message: string) => {
    io.err(`modelpress init: ${message}\n`);
    return EXIT.invalid;
  };
  const interactive = !opts.yes && (askOverride !== undefined || Boolean(process.stdin.isTTY));
  const terminal = interactive && askOverride === undefined ? terminalAsk() : undefined;
  const ask = askOverride ?? terminal?.ask;
  try {
    const presets = await devicePresets();
    const answer = async (given: string | undefined, question: string, fallback: string | undefined): Promise<string | undefined> =>
      given ?? (interactive && ask ? (await ask(question, fallback)) || undefined : fallback);

    const model = await answer(opts.model, 'model (a tfjs model directory)', undefined);
    if (!model) return fail('--model is required without a terminal or with --yes: a tfjs model directory, e.g. --model models/my-model');
    const inspected = await inspectModel(resolve(io.cwd, model));
    if (!inspected.ok) {
      io.err(formatDiagnostics(inspected.diagnostics, model));
      return EXIT.invalid;
    }
    const report = inspected.value;
    io.out(`model ${model}: ${report.topology}, ${report.summary.layers} layers, ${report.summary.params} params, input ${JSON.stringify(report.inputs[0]?.shape ?? null)}\n`);

    const data = await answer(opts.data, 'evaluation data (a .csv, a folder with x.npy and y.npy, a folder of images, or mnist)', undefined);
    if (!data) return fail('--data is required without a terminal or with --yes: a .csv file, a folder with x.npy and y.npy, a folder of images, or mnist');
    const device = (await answer(opts.device, `device (${presets.join(', ')})`, DEFAULT_DEVICE))!;
    if (!presets.includes(device)) return fail(`--device: Expected one of ${presets.join(', ')}, got ${JSON.stringify(device)}`);

    const budget: Partial<Record<BudgetKey, number>> = {};
    const preset = await presetBudget(device);
    for (const [flag, key, name] of BUDGET_FLAGS) {
      const given = opts[flag] as string | undefined;
      const text = given ?? (interactive && ask ? (await ask(`budget ${key}`, preset[key] !== undefined ? String(preset[key]) : 'none')) : undefined);
      if (text === undefined || text === '' || text === 'none' || (given === undefined && text === String(preset[key]))) continue;
      const n = Number(text);
      if (!Number.isFinite(n) || n <= 0) return fail(`${name}: Expected a number > 0, got ${JSON.stringify(text)}`);
      budget[key] = n;
    }

    const out = resolve(io.cwd, opts.out ?? join('compress', `${device}.yaml`));
    if (existsSync(out) && !opts.force) return fail(`${relative(io.cwd, out)} exists; choose another --out, or --force to overwrite it`);
    const recipeDir = dirname(out);
    const modelDir = resolve(io.cwd, model).replace(/[/\\]model\.json$/, '');
    const facts: ModelFacts = {
      from: fromRecipe(recipeDir, modelDir),
      topology: report.topology,
      layers: report.summary.layers,
      params: report.summary.params,
      bytes: report.size.raw,
      inputShape: report.inputs[0]?.shape ?? null,
      classes: report.outputs[0]?.shape?.at(-1) ?? null,
    };
    const choice = dataChoice(data, io.cwd, recipeDir, facts);
    if ('error' in choice) return fail(choice.error);

    const name = opts.name ?? `${basename(modelDir).toLowerCase().replace(/[^a-z0-9-]+/g, '-')}-${device}`;
    const text = renderStarterRecipe({
      name,
      model: facts,
      data: choice,
      device,
      presetBudget: preset,
      budget,
      schemaPath: fromRecipe(recipeDir, join(PACKAGE_ROOT, 'schemas', 'recipe.schema.json')),
      recipePath: relative(io.cwd, out).split(sep).join('/'),
    });
    await mkdir(recipeDir, { recursive: true });
    await writeFile(out, text);
    const shown = relative(io.cwd, out);
    io.out(`wrote ${shown}\n`);

    const checked = await prepare(out, [], io);
    if (!checked.ok) {
      io.err(formatDiagnostics(checked.diagnostics, shown));
      io.err(`modelpress init: ${shown} was written but does not validate; edit it (the messages above say where)\n`);
      return EXIT.invalid;
    }
    io.out(`${shown}: ok: ${summarize(checked.value.recipe)}\nnext: npx modelpress run ${shown}\n`);
    return EXIT.ok;
  } finally {
    terminal?.close();
  }
}
