/**
 * A queue worker may run on another machine with another install. Its result
 * would be cached under the submitter's key, which names the submitter's
 * modelpress, tfjs and stage code: if the worker's differ, the key would lie,
 * so the worker refuses the job. modelpress and tfjs versions are compared
 * here, before anything loads; the stage's version and code digest are
 * compared by the stage's worker thread (worker-entry.ts, `expect`), with the
 * planner's own digest function.
 */
import { PACKAGE_VERSION } from '../../package-info.js';
import type { KeyRecord } from '../../plan/key-record.js';
import { tfjsVersions } from '../../plan/tfjs-versions.js';

/** Why this process must not compute a node keyed by `record`, or undefined when it may. */
export function versionRefusal(record: KeyRecord, modelpressVersion: string = PACKAGE_VERSION): string | undefined {
  if (record.modelpress !== modelpressVersion) return `modelpress ${modelpressVersion} here, ${record.modelpress} in the submitter's cache key`;
  let mine;
  try {
    mine = tfjsVersions(record.backend);
  } catch {
    return `backend ${JSON.stringify(record.backend)} is unknown here`;
  }
  if (mine.core !== record.tfjs.core) return `tfjs ${mine.core} here, ${record.tfjs.core} in the submitter's cache key`;
  if (mine.backend !== record.tfjs.backend) return `${mine.backend} here, ${record.tfjs.backend} in the submitter's cache key`;
  return undefined;
}
