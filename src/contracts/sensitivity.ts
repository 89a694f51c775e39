/**
 * THE sensitivity contract: what the sensitivity stage measured, one type
 * with one JSON codec. The sensitivity stage encodes it into
 * sensitivity.json and its metrics; the auto stage (the allocator's loss
 * table), the report and users' scripts decode it, so nobody reads the
 * table by hand.
 *
 * No tfjs, no node: imports, nothing from src/stages (contracts rule).
 * Key order is fixed by the encoder; optional keys are left out, never null.
 */
import type { Json } from '../plugin.js';
import { fmtHundredths, fmtPercent } from './format.js';
import { mdTable, mdText } from './markdown.js';

export type WeightDtype = 'uint8' | 'uint16' | 'float16';
const DTYPES: readonly string[] = ['uint8', 'uint16', 'float16'];

/** One layer's setting (the same keys as the stages' options: prune `sparsity`, share `bits`, quantize `weights`). */
export interface SensitivitySetting {
  /** Fraction of units/filters removed (prune `method: structured`). */
  structured?: number;
  sparsity?: number;
  bits?: number;
  dtype?: WeightDtype;
}

export type SensitivityFamily = 'sparsity' | 'bits' | 'dtype' | 'structured';
export const SENSITIVITY_FAMILIES: readonly SensitivityFamily[] = ['sparsity', 'bits', 'dtype', 'structured'];

/** One (layer, option) measurement: the option applied to that layer alone (with `recovery`, after that many fine-tuning steps). */
export interface SensitivityPoint {
  layer: string;
  family: SensitivityFamily;
  /** The family's level: a sparsity fraction, a bit count, a dtype name, a fraction of units removed. */
  level: number | string;
  /** The metric (percent) with only this change. */
  value: number;
  /** baseline - value, in percentage points (positive: the change hurt). */
  dropPp: number;
}

export interface Sensitivity {
  /** `accuracy` (labelled calibration data) or `agreement` (top-1 agreement with the unmodified model, unlabelled data). */
  metric: 'accuracy' | 'agreement';
  /** Where the calibration examples come from: a seeded held-out fraction of `data`. */
  calibration: { data: string; fraction: number; examples: number; seed: number };
  /** The unmodified model's metric on the calibration examples (100 for agreement; with `recovery`, after the same fine-tune). */
  baseline: number;
  /**
   * Present when every point was measured after a short fine-tune with the
   * option held (a dtype applied after it), the baseline after the same: the drop that fine-tuning leaves, which
   * is what a search that fine-tunes its trials should allocate by.
   */
  recovery?: SensitivityRecovery;
  /** Layers measured, in model order. */
  layers: string[];
  points: SensitivityPoint[];
}

/** The fine-tune each point got before it was measured. */
export interface SensitivityRecovery {
  /** Optimizer steps (Adam) on `data`, batches of `batchSize`. */
  steps: number;
  batchSize: number;
  learningRate: number;
  /** The dataset fine-tuned on (its calibration split left out when it is the calibration data). */
  data: string;
}

/** The setting a point stands for. */
export function pointSetting(p: Pick<SensitivityPoint, 'family' | 'level'>): SensitivitySetting {
  return { [p.family]: p.level } as SensitivitySetting;
}

/** The points of one layer and family, in the order measured. */
export function curve(s: Sensitivity, layer: string, family: SensitivityFamily): SensitivityPoint[] {
  return s.points.filter((p) => p.layer === layer && p.family === family);
}

// ---------------------------------------------------------------- encode

export function encodeSensitivity(s: Sensitivity): Record<string, Json> {
  return {
    stage: 'sensitivity',
    metric: s.metric,
    calibration: { data: s.calibration.data, fraction: s.calibration.fraction, examples: s.calibration.examples, seed: s.calibration.seed },
    baseline: s.baseline,
    ...(s.recovery ? { recovery: { steps: s.recovery.steps, batchSize: s.recovery.batchSize, learningRate: s.recovery.learningRate, data: s.recovery.data } } : {}),
    layers: [...s.layers],
    points: s.points.map((p) => ({ layer: p.layer, family: p.family, level: p.level, value: p.value, dropPp: p.dropPp })),
  };
}

// ---------------------------------------------------------------- decode

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

class DecodeError extends Error {}

function show(j: Json | undefined): string {
  if (j === undefined) return 'nothing';
  const s = JSON.stringify(j);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
function fail(path: string, expected: string, got: Json | undefined): never {
  throw new DecodeError(`${path}: Expected ${expected}, got ${show(got)}`);
}
function obj(j: Json | undefined, path: string): Record<string, Json> {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail(path, 'an object', j);
  return j;
}
function num(o: Record<string, Json>, k: string, path: string): number {
  const v = o[k];
  if (typeof v !== 'number') fail(`${path}.${k}`, 'a number', v);
  return v;
}
function str(o: Record<string, Json>, k: string, path: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(`${path}.${k}`, 'a string', v);
  return v;
}

function decodePoint(j: Json, path: string, layers: readonly string[]): SensitivityPoint {
  const o = obj(j, path);
  const layer = str(o, 'layer', path);
  if (!layers.includes(layer)) fail(`${path}.layer`, `one of the measured layers (${layers.join(', ')})`, layer);
  const family = str(o, 'family', path) as SensitivityFamily;
  if (!SENSITIVITY_FAMILIES.includes(family)) fail(`${path}.family`, `one of ${SENSITIVITY_FAMILIES.join(', ')}`, family);
  const level = o['level'];
  if (family === 'dtype' ? typeof level !== 'string' || !DTYPES.includes(level) : typeof level !== 'number') {
    fail(`${path}.level`, family === 'dtype' ? `one of ${DTYPES.join(', ')}` : 'a number', level);
  }
  return { layer, family, level: level as number | string, value: num(o, 'value', path), dropPp: num(o, 'dropPp', path) };
}

/** Decodes sensitivity.json (or the stage's metrics), validating every field. */
export function decodeSensitivity(j: Json, where = 'sensitivity.json'): Decoded<Sensitivity> {
  try {
    const o = obj(j, where);
    if (o['stage'] !== 'sensitivity') fail(`${where}.stage`, '"sensitivity"', o['stage']);
    const metric = str(o, 'metric', where);
    if (metric !== 'accuracy' && metric !== 'agreement') fail(`${where}.metric`, 'accuracy or agreement', metric);
    const c = obj(o['calibration'], `${where}.calibration`);
    const cp = `${where}.calibration`;
    const layersJ = o['layers'];
    if (!Array.isArray(layersJ) || !layersJ.every((x) => typeof x === 'string')) fail(`${where}.layers`, 'a list of layer names', layersJ);
    const layers = layersJ as string[];
    const pointsJ = o['points'];
    if (!Array.isArray(pointsJ)) fail(`${where}.points`, 'a list', pointsJ);
    const rp = `${where}.recovery`;
    const r = o['recovery'] === undefined ? undefined : obj(o['recovery'], rp);
    return {
      ok: true,
      value: {
        metric,
        calibration: { data: str(c, 'data', cp), fraction: num(c, 'fraction', cp), examples: num(c, 'examples', cp), seed: num(c, 'seed', cp) },
        baseline: num(o, 'baseline', where),
        ...(r ? { recovery: { steps: num(r, 'steps', rp), batchSize: num(r, 'batchSize', rp), learningRate: num(r, 'learningRate', rp), data: str(r, 'data', rp) } } : {}),
        layers,
        points: pointsJ.map((p, i) => decodePoint(p, `${where}.points[${i}]`, layers)),
      },
    };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: err.message };
    throw err;
  }
}

// ---------------------------------------------------------------- markdown

function levelText(family: SensitivityFamily, level: number | string): string {
  if (family === 'sparsity') return `${Math.round(Number(level) * 1000) / 10}%`;
  if (family === 'bits') return `${level} bits`;
  if (family === 'structured') return `-${Math.round(Number(level) * 1000) / 10}% units`;
  return String(level);
}

/**
 * The table: one row per layer, one column per option, each cell the drop
 * in pp with only that change (Distiller's sensitivity analysis as a table).
 */
export function renderSensitivityMarkdown(s: Sensitivity): string {
  const columns: { family: SensitivityFamily; level: number | string }[] = [];
  for (const p of s.points) if (!columns.some((c) => c.family === p.family && c.level === p.level)) columns.push({ family: p.family, level: p.level });
  const rows = s.layers.map((layer) => [
    mdText(layer),
    ...columns.map((c) => {
      const p = s.points.find((q) => q.layer === layer && q.family === c.family && q.level === c.level);
      return p ? fmtHundredths(p.dropPp) : '';
    }),
  ]);
  const what = s.metric === 'accuracy' ? 'accuracy' : 'top-1 agreement with the unmodified model';
  const after = s.recovery
    ? `each change held through ${s.recovery.steps} fine-tuning steps (Adam ${s.recovery.learningRate}, batch ${s.recovery.batchSize}, \`${mdText(s.recovery.data)}\`)`
    : 'no fine-tuning';
  return [
    `Sensitivity: ${what} drop in pp with one layer changed at a time, ${after}.`,
    `Baseline ${fmtPercent(s.baseline)} on ${s.calibration.examples} calibration examples (${fmtHundredths(100 * s.calibration.fraction)}% of \`${mdText(s.calibration.data)}\` held out, seed ${s.calibration.seed}).`,
    '',
    ...mdTable(['layer', ...columns.map((c) => levelText(c.family, c.level))], rows, ['l', ...columns.map(() => 'r' as const)]),
    '',
  ].join('\n');
}
