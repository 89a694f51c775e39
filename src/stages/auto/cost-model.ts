/**
 * Exact size of any per-layer assignment without writing a model.
 *
 * The packed container (src/formats/packed.ts) stores a header, the deflated
 * topology and then one self-contained record per tensor, each in its own
 * smallest exact encoding. So a model's packed size is the fixed part plus
 * the sum of its tensors' records, and a record depends on that tensor
 * alone: the size of an assignment is additive over layers, which is what
 * lets the allocator treat it as a knapsack. Each record's size comes from
 * the real packer (`packArtifacts` on that one tensor), so the prediction
 * equals what `packModel` gives for the same weights, byte for byte.
 *
 * Raw size (the tfjs weight shards) is additive too: 4 bytes per float32
 * value, 1/2 per uint8/uint16/float16 one. Brotli is not additive (it
 * compresses across tensors), so it is measured, not predicted.
 *
 * Unstructured sparsity and sharing move packed size but not latency on
 * dense runtimes; latency moves with structured pruning only, which is why
 * this model predicts sizes and the latency tables are separate.
 */
import type { io } from '@tensorflow/tfjs';
import { packArtifacts } from '../../formats/packed.js';
import { decodeFloat32, float32Weight, quantizedWeight, splitWeights, withWeights } from '../../formats/weight-quantization.js';
import type { QuantizationDtype, StoredWeight } from '../../formats/weight-quantization.js';
import { applySetting, settingLabel, tensorSetting } from '../sensitivity/layer-setting.js';
import type { LayerSetting } from '../sensitivity/layer-setting.js';

export interface SizeCost {
  /** Bytes in the packed container. */
  packed: number;
  /** Bytes in the tfjs weight shards. */
  raw: number;
}

/** A tensor's record size in the packed container, from the real packer. */
export function packedRecordBytes(weight: StoredWeight): number {
  const packed = packArtifacts({ modelTopology: {}, weightSpecs: [weight.spec], weightData: weight.bytes.slice().buffer });
  return packed.breakdown.tensors[0]!.bytes;
}

/** How a kernel is stored under a setting (the bytes the stages would write). */
export function storeWithSetting(weight: StoredWeight, setting: LayerSetting, random?: () => number): StoredWeight {
  const values = decodeFloat32(weight);
  if (!values) throw new TypeError(`Expected weight ${weight.spec.name} to be float32, got ${weight.spec.dtype}`);
  const applied = applySetting(values, setting, random);
  const { name, shape, group } = weight.spec;
  return applied.quantized ? quantizedWeight(name, shape, applied.quantized, group) : float32Weight(name, shape, applied.values, group);
}

/** The storage dtype of every tensor a model came in quantized (a uint8 tfjs-converter model: all of them). */
export function sourceDtypes(artifacts: io.ModelArtifacts): Map<string, QuantizationDtype> {
  return new Map((artifacts.weightSpecs ?? []).flatMap((w) => (w.quantization ? [[w.name, w.quantization.dtype as QuantizationDtype]] : [])));
}

/** How the source stored its weights, as one `quantize` stage says it: `dtype` for every float32 tensor of at least `minSize` values. */
export interface SourceStorageRule {
  dtype: QuantizationDtype;
  minSize: number;
}

/**
 * The source's storage as a quantize stage's `weights` / `minSize`, so a
 * recipe fragment stores what trials store (storageSetting): undefined when
 * nothing came quantized; `mixed` when one rule cannot say it (two dtypes,
 * or a tensor left float32 that is larger than a quantized one).
 */
export function sourceStorageRule(artifacts: io.ModelArtifacts): SourceStorageRule | 'mixed' | undefined {
  const specs = (artifacts.weightSpecs ?? []).filter((w) => w.dtype === 'float32');
  const size = (w: io.WeightsManifestEntry) => w.shape.reduce((a, b) => a * b, 1);
  const quantized = specs.filter((w) => w.quantization);
  if (quantized.length === 0) return undefined;
  const dtypes = new Set(quantized.map((w) => w.quantization!.dtype));
  const minSize = Math.min(...quantized.map(size));
  if (dtypes.size > 1 || specs.some((w) => !w.quantization && size(w) >= minSize)) return 'mixed';
  return { dtype: quantized[0]!.quantization!.dtype as QuantizationDtype, minSize };
}

/**
 * What a trial stores for one tensor under its layer's setting: the
 * setting's dtype when it gives one (tensorSetting), else the dtype the
 * tensor came in. A model brought as uint8 stays uint8 where the search did
 * not choose otherwise; re-saved as float32 it would grow (on a uint8
 * MobileNetV2 a trial packed 493 KB where 399 KB were predicted).
 */
export function storageSetting(name: string, size: number, setting: LayerSetting, source: ReadonlyMap<string, QuantizationDtype>): LayerSetting {
  const s = tensorSetting(name, size, setting);
  const kept = source.get(name);
  return s.dtype === undefined && kept !== undefined ? { ...s, dtype: kept } : s;
}

/** `artifacts` (float32, e.g. a re-saved narrowed model) with every tensor that came quantized stored in its source dtype again. */
export function keepSourceStorage(artifacts: io.ModelArtifacts, source: ReadonlyMap<string, QuantizationDtype>): io.ModelArtifacts {
  if (source.size === 0) return artifacts;
  return withWeights(artifacts, splitWeights(artifacts).map((w) => {
    const dtype = source.get(w.spec.name);
    return dtype !== undefined && w.spec.dtype === 'float32' && !w.spec.quantization ? storeWithSetting(w, { dtype }) : w;
  }));
}

/** Per searched layer, the names of its float32 tensors (`fc1` -> [`fc1/kernel`, `fc1/bias`]): what a size model prices. */
export function searchedKernels(artifacts: io.ModelArtifacts, layers: readonly string[]): Map<string, string[]> {
  const kernels = new Map<string, string[]>();
  for (const w of artifacts.weightSpecs ?? []) {
    const layer = w.name.slice(0, w.name.lastIndexOf('/'));
    if (layers.includes(layer) && w.dtype === 'float32') kernels.set(layer, [...(kernels.get(layer) ?? []), w.name]);
  }
  return kernels;
}

export interface SizeModel {
  /** Everything not searched: header, topology, every tensor but the searched kernels. */
  base: SizeCost;
  /** The searched layers, in model order. */
  layers: string[];
  /** Size of `layer`'s kernel under `setting` (memoised per layer and setting). */
  layerCost(layer: string, setting: LayerSetting): SizeCost;
  /** base + the layers' costs; layers missing from `assignment` count as stored now. */
  predict(assignment: Readonly<Record<string, LayerSetting>>): SizeCost;
}

/**
 * A size model over in-memory artifacts. `kernels` maps each searched layer
 * to its float weights' names (e.g. `fc1` -> [`fc1/kernel`, `fc1/bias`]; a
 * separable convolution has two kernels). Each tensor gets what the stages
 * would do to it (`tensorSetting`: sparsity and bits on kernels, the dtype
 * on tensors of at least the quantize stage's `minSize`), stored in the
 * dtype it came in when the setting gives none (`storageSetting`; `source`
 * defaults to the artifacts' own quantized tensors).
 */
export function sizeModel(artifacts: io.ModelArtifacts, kernels: ReadonlyMap<string, readonly string[]>, source: ReadonlyMap<string, QuantizationDtype> = sourceDtypes(artifacts)): SizeModel {
  const weights = splitWeights(artifacts);
  const byName = new Map(weights.map((w) => [w.spec.name, w]));
  const kernelsOf = (layer: string): StoredWeight[] => {
    const names = kernels.get(layer);
    const ws = (names ?? []).map((n) => byName.get(n));
    if (!names || names.length === 0 || ws.some((w) => !w)) throw new TypeError(`Expected a searched layer (${[...kernels.keys()].join(', ')}) with a kernel in the model, got ${layer}`);
    return ws as StoredWeight[];
  };
  const costOf = (ws: readonly StoredWeight[]): SizeCost => ({
    packed: ws.reduce((n, w) => n + packedRecordBytes(w), 0),
    raw: ws.reduce((n, w) => n + w.bytes.byteLength, 0),
  });
  const total = packArtifacts(artifacts).breakdown.totalBytes;
  const rawTotal = weights.reduce((n, w) => n + w.bytes.byteLength, 0);
  const current = new Map([...kernels.keys()].map((l) => [l, costOf(kernelsOf(l))]));
  const base: SizeCost = {
    packed: total - [...current.values()].reduce((n, c) => n + c.packed, 0),
    raw: rawTotal - [...current.values()].reduce((n, c) => n + c.raw, 0),
  };
  const memo = new Map<string, SizeCost>();
  const layerCost = (layer: string, setting: LayerSetting): SizeCost => {
    const key = `${layer}\u0000${settingLabel(setting)}`;
    let c = memo.get(key);
    if (!c) {
      c = costOf(kernelsOf(layer).map((w) => storeWithSetting(w, storageSetting(w.spec.name, w.spec.shape.reduce((a, b) => a * b, 1), setting, source))));
      memo.set(key, c);
    }
    return c;
  };
  return {
    base,
    layers: [...kernels.keys()],
    layerCost,
    predict(assignment) {
      let packed = base.packed;
      let raw = base.raw;
      for (const layer of kernels.keys()) {
        const c = assignment[layer] ? layerCost(layer, assignment[layer]!) : current.get(layer)!;
        packed += c.packed;
        raw += c.raw;
      }
      return { packed, raw };
    },
  };
}
