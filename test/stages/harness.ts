/**
 * The stage tests' harness: the public one (`createStageHarness` from
 * `modelpress/plugin`, src/stage-harness.ts) with the defaults these tests
 * share: wasm, small MNIST slices, and log lines as `level message` strings.
 * Testing the built-ins through the public harness keeps it honest: what
 * plugin authors get is what the built-in stages are tested with.
 */
import { createStageHarness, modelInput } from '../../src/plugin.js';
import type { ArtifactRef, Engine, HarnessContext, Json, StageDefinition, StageInputs, StageResult } from '../../src/plugin.js';
import type { BackendName } from '../../src/engine/backend.js';

export { modelInput };

/** Small MNIST slices: enough to learn something in a second or two. */
export const SMALL_MNIST: Record<string, Json> = {
  train: { uses: 'mnist', split: 'train', limit: 2000, flatten: true },
  test: { uses: 'mnist', split: 'test', limit: 500, flatten: true },
  train2d: { uses: 'mnist', split: 'train', limit: 1000 },
  test2d: { uses: 'mnist', split: 'test', limit: 300 },
};

export type TestContext = Omit<HarnessContext, 'logs'> & { logs: string[] };

export interface Harness {
  dir: string;
  engine: Engine;
  ctx(node?: string): TestContext;
  /** Applies the stage's schema defaults (and validation) to `config`, then runs it. */
  run(stage: StageDefinition<any>, config: Record<string, Json>, inputs?: StageInputs, node?: string): Promise<StageResult>;
  /** An ArtifactRef for a model directory (for `inputs.model`). */
  artifact(dir: string): Promise<ArtifactRef>;
  cleanup(): Promise<void>;
}

/** `backend`: the engine's backend (default wasm). */
export async function createHarness(opts: { seed?: number; data?: Record<string, Json>; model?: Json; backend?: BackendName } = {}): Promise<Harness> {
  const h = await createStageHarness({ backend: 'wasm', data: SMALL_MNIST, ...opts });
  return {
    dir: h.dir,
    engine: h.engine,
    ctx(node) {
      const c = h.context(node);
      const logs: string[] = [];
      const line = (level: 'debug' | 'info' | 'warn') => (message: string, fields?: Record<string, Json>) => {
        c.logger[level](message, fields);
        logs.push(`${level} ${message}`);
      };
      return { ...c, logger: { debug: line('debug'), info: line('info'), warn: line('warn') }, logs };
    },
    run: (stage, config, inputs, node) => h.run(stage, config, inputs, node),
    artifact: (dir) => h.artifact(dir),
    cleanup: () => h.cleanup(),
  };
}
