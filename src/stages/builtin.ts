/**
 * The built-in stages, registered into a registry instance by the
 * composition root (the CLI). Each stage lives in its own file; the
 * compression stages arrive with their issues (train, prune, share, quantize,
 * distill, evaluate, select, export).
 */
import type { StageRegistry } from '../plugin-registry.js';
import type { StageDefinition } from '../plugin.js';
import { distillStage } from './distill.js';
import { evaluateStage } from './evaluate.js';
import { exportStage } from './export.js';
import { pruneStage } from './prune.js';
import { quantizeStage } from './quantize.js';
import { selectStage } from './select.js';
import { shareStage } from './share.js';
import { trainStage } from './train.js';

export const BUILTIN_STAGES: readonly StageDefinition<any>[] = [trainStage, pruneStage, shareStage, quantizeStage, distillStage, evaluateStage, selectStage, exportStage];

export function registerBuiltinStages(registry: StageRegistry): void {
  for (const def of BUILTIN_STAGES) registry.register(def, 'builtin');
}
