/**
 * The engine a stage gets as `ctx.engine`: tfjs on the run's backend with
 * modelpress's extra wasm training kernels, plus model IO and builders that
 * work without tfjs-node. tfjs is loaded on first use, so stages that never
 * touch a model (reports, exports of JSON) do not pay for it.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import { buildModel } from './builders.js';
import type { BuildSpec } from './builders.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { loadModelDir, saveModelDir } from './model-io.js';
import type { SavedModelInfo } from './model-io.js';
import { loadTf } from './tf.js';
import type { Tf } from './tf.js';

export interface Engine {
  /** The backend stages compute on; it is part of every cache key. */
  readonly backend: BackendName;
  /** tfjs with `backend` active (and the wasm training kernels registered). */
  tf(): Promise<Tf>;
  /** Loads a tfjs LayersModel directory (or model.json path). */
  loadModel(dir: string): Promise<LayersModel>;
  /** Saves as model.json + 4 MB shards, byte-compatible with tfjs's own writers. */
  saveModel(model: LayersModel, dir: string): Promise<SavedModelInfo>;
  /** Builds `model: { build: ... }` with seeded initialisation. */
  buildModel(spec: BuildSpec): Promise<LayersModel>;
}

export function createEngine(backend: BackendName, seed: number): Engine {
  let loading: Promise<Tf> | undefined;
  const tf = () =>
    (loading ??= loadTf(backend, {
      beforeReady: (t) => {
        if (backend === 'wasm') registerWasmTrainingKernels(t);
      },
    }));
  return {
    backend,
    tf,
    async loadModel(dir) {
      return loadModelDir(dir, { tf: await tf() });
    },
    async saveModel(model, dir) {
      await tf();
      return saveModelDir(model, dir);
    },
    async buildModel(spec) {
      return buildModel(await tf(), spec, seed);
    },
  };
}
