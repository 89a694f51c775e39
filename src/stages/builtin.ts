/**
 * The built-in stages, registered into a registry instance by the
 * composition root (the CLI). Each stage lives in its own file; the
 * compression stages arrive with their issues (train, prune, share, quantize,
 * distill, evaluate, select, export).
 */
import type { StageRegistry } from '../plugin-registry.js';
import type { StageDefinition } from '../plugin.js';
import { autoStage } from './auto/auto.js';
import { distillStage } from './distill/distill.js';
import { evaluateStage } from './evaluate/evaluate.js';
import { exportStage } from './export/export.js';
import { modelSourceStage } from './model/model.js';
import { pruneStage } from './prune/prune.js';
import { quantizeStage } from './quantize/quantize.js';
import { selectStage } from './select/select.js';
import { sensitivityStage } from './sensitivity/sensitivity.js';
import { shareStage } from './share/share.js';
import { trainStage } from './train/train.js';

export const BUILTIN_STAGES: readonly StageDefinition<any>[] = [modelSourceStage, trainStage, pruneStage, shareStage, quantizeStage, distillStage, evaluateStage, selectStage, exportStage, sensitivityStage, autoStage];

export function registerBuiltinStages(registry: StageRegistry): void {
  for (const def of BUILTIN_STAGES) registry.register(def, 'builtin');
}
