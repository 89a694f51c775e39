/**
 * What a dataset looks like without loading it for training: the shape of one
 * example, the class count, the number of examples.
 *
 * `validate` needs this before anything runs: a model's missing `inputShape`
 * and `classes` are inferred from it, and a dataset fed to a model whose input
 * or output does not fit is a located error instead of a tfjs broadcast error
 * two stages into the run. Loaders implement `describe` cheaply (headers and
 * the label column, not the features); a loader without one (an older
 * plugin) is described by loading it, which is correct, only slower.
 */
import type { Dataset } from './dataset.js';
import type { DatasetLoader, LoadContext } from './loader.js';

export interface DatasetDescription {
  /** Shape of one example, without the batch dimension: `[16]`, `[28, 28, 1]`. */
  shape: number[];
  /** The features' element type as stored in the Dataset (always float32 today). */
  dtype: 'float32';
  /** Number of classes: the declared `classes` option, the loader's fixed count, or the largest label + 1. */
  classes: number;
  /** Whether examples carry labels (every built-in loader's do). */
  labelled: boolean;
  /** Number of examples after `limit`, `offset` and `split`. */
  examples: number;
  /**
   * Token-id data: the number of ids (the vocabulary size, `<pad>` and
   * `<unk>` included), which a model's Embedding must accept. Absent otherwise.
   */
  vocabulary?: number;
}

/** The description of an already loaded dataset (what `describe` promises to equal). */
export function describeLoaded(ds: Pick<Dataset, 'shape' | 'classes' | 'count' | 'vocabulary'>): DatasetDescription {
  return { shape: [...ds.shape], dtype: 'float32', classes: ds.classes, labelled: true, examples: ds.count, ...(ds.vocabulary ? { vocabulary: ds.vocabulary.length } : {}) };
}

// Keyed by fingerprint: it identifies the content and the options (`classes`
// among them), so a changed file or option is described anew.
const memo = new Map<string, Promise<DatasetDescription>>();

/**
 * Describes `options` with `loader`: its `describe` if it has one, else a
 * load. Memoised per fingerprint for the life of the process (`validate`,
 * then `plan` and `run` in the same process describe each dataset once).
 * Throws what the loader throws (DataError for bad files).
 */
export async function describeDataset(loader: DatasetLoader<any>, options: Record<string, unknown>, ctx: LoadContext): Promise<DatasetDescription> {
  const key = `${loader.name}\0${await loader.fingerprint(options, ctx)}`;
  let p = memo.get(key);
  if (!p) {
    p = loader.describe ? loader.describe(options, ctx) : loader.load(options, ctx).then(describeLoaded);
    memo.set(key, p);
    // A failure is not remembered: the user fixes the file and validates again.
    p.catch(() => memo.delete(key));
  }
  return p;
}
