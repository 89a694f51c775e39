/**
 * What `modelpress init` writes: a commented starter recipe for the user's
 * own model, data, device and budget. Pure (no file system, no prompts) so
 * the text is tested as is; src/cli/commands/init.ts gathers the answers,
 * inspects the model and checks the data, then writes this text and
 * validates it.
 *
 * The stages are the shortest chain that shows compression against a budget
 * and finishes in about a minute: magnitude pruning without fine-tuning (no
 * training data needed), uint8 storage, evaluate of every model (the
 * original as the reference), select the smallest that meets the budget.
 */
import type { BudgetKey } from '../contracts/budget.js';

/** A dataset entry of the recipe's `data:` map, as YAML flow mappings keep it. */
export type DatasetEntry = Record<string, string | number | boolean | number[]>;

/** What init learned about the data: the evaluation set, and how it was recognised. */
export interface DataChoice {
  /** `csv`, `npy`, `images`, `mnist`. */
  kind: string;
  /** The `test:` dataset entry. */
  test: DatasetEntry;
}

/** What init learned about the model from its model.json (src/inspect). */
export interface ModelFacts {
  /** The model directory, relative to the recipe. */
  from: string;
  topology: string;
  layers: number;
  params: number;
  /** Bytes of model.json + weights. */
  bytes: number;
  /** Input shape without the batch dimension (null: unknown dimension). */
  inputShape: (number | null)[] | null;
  /** Size of the output's last dimension (the classes of a classifier); null when unknown. */
  classes: number | null;
}

export interface StarterRecipe {
  /** `name:` of the recipe. Example: `lenet-web-mobile`. */
  name: string;
  model: ModelFacts;
  data: DataChoice;
  /** A shipped device preset (pipelines/devices/<device>.yaml). */
  device: string;
  /** The preset's budget, to show in a comment. */
  presetBudget: Partial<Record<BudgetKey, number>>;
  /** Budget limits given by the user; they override the preset's. */
  budget: Partial<Record<BudgetKey, number>>;
  /** `# yaml-language-server: $schema=` path, relative to the recipe. */
  schemaPath: string;
  /** How the user runs it, e.g. `compress/web-mobile.yaml`, for the header comment. */
  recipePath: string;
}

function flow(value: DatasetEntry | Partial<Record<string, number>>): string {
  const parts = Object.entries(value).map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'string' ? yamlString(v) : String(v)}`);
  return `{ ${parts.join(', ')} }`;
}

/** A plain scalar when YAML reads it back as the same string, else double-quoted. */
function yamlString(s: string): string {
  return /^[A-Za-z0-9_./-][A-Za-z0-9_./ -]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !/^[-+.\d]/.test(s.replace(/^\.\.?\//, 'x')) ? s : JSON.stringify(s);
}

function shapeText(shape: (number | null)[] | null): string {
  return shape === null ? 'unknown' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** The size objective select ranks by: the size kind the budget constrains, else gzip (what a web server sends). */
function objectiveFor(budget: Partial<Record<BudgetKey, number>>): string {
  if (budget.size_kb !== undefined) return 'size';
  if (budget.size_packed_kb !== undefined) return 'size_packed';
  if (budget.size_brotli_kb !== undefined) return 'size_brotli';
  return 'size_gzip';
}

/** The recipe text, ending with a newline. */
export function renderStarterRecipe(r: StarterRecipe): string {
  const m = r.model;
  const merged = { ...r.presetBudget, ...r.budget };
  const lines = [
    `# yaml-language-server: $schema=${r.schemaPath}`,
    `# A starter recipe written by \`modelpress init\`: prune, quantize, and measure`,
    `# every model on \`${r.device}\` against its budget; keep the smallest that fits.`,
    `#   npx modelpress validate ${r.recipePath}   # check it, run nothing`,
    `#   npx modelpress run ${r.recipePath}        # run it (exit 3: no model meets the budget)`,
    `# Stages and their options: docs/stages.md; recipes: docs/recipes.md.`,
    'version: 1',
    `name: ${yamlString(r.name)}`,
    'seed: 1 # same seed, same bytes: reruns are cache hits',
    '',
    `# The device (runtime, threads, budget) comes from the shipped preset`,
    `# pipelines/devices/${r.device}.yaml; its budget: ${flow(r.presetBudget)}.`,
    `extends: [modelpress:devices/${r.device}]`,
    '',
    `# Your model: ${m.topology}, ${m.layers} layers, ${m.params} parameters, ${Math.round(m.bytes / 1024)} KB;`,
    `# input ${shapeText(m.inputShape)}${m.classes !== null ? `, ${m.classes} outputs` : ''}.`,
    `model: { from: ${yamlString(m.from)} }`,
    '',
    'data:',
    `  # Evaluation data (${r.data.kind}): every candidate's accuracy, and its drop from the original.`,
    `  test: ${flow(r.data.test)}`,
    `  # To fine-tune after pruning, add a training set here and \`finetune: { data: train, epochs: 1 }\` to prune.`,
  ];
  if (Object.keys(r.budget).length > 0) {
    lines.push('', 'devices:', `  ${r.device}:`, `    # Your limits; the preset's other limits still apply. Budget keys: docs/recipes.md.`, `    budget: ${flow(r.budget)}`);
  }
  lines.push(
    '',
    'stages:',
    '  # Zero the 50% smallest weights of every Dense/Conv layer (packs and gzips smaller).',
    '  - id: prune',
    '    uses: prune',
    '    with: { sparsity: 0.5 }',
    '',
    '  # Store the weights as 8-bit integers: 4x smaller; tfjs dequantizes them on load.',
    '  - id: quantize',
    '    uses: quantize',
    '    with: { weights: uint8 }',
    '',
    '  # Measure every model on the device: size, p95 latency, accuracy (the original is the reference).',
    '  - id: eval',
    '    uses: evaluate',
    '    needs: [model, prune, quantize]',
    `    with: { data: test, reference: model, devices: [${r.device}], latency: { maxSeconds: 2 } }`,
    '',
    `  # Keep the smallest model (${objectiveFor(merged)}) that meets every limit of the budget.`,
    '  - id: pick',
    '    uses: select',
    '    needs: [prune, quantize, eval]',
    `    with: { objective: ${objectiveFor(merged)}, devices: [${r.device}] }`,
  );
  return `${lines.join('\n')}\n`;
}
