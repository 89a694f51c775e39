/*
 * On-disk layout of a cache directory:
 *
 *   entries/<key[0..2]>/<key>/     one published entry, never modified after its rename
 *     outputs/<name>/...           each output artifact, a directory
 *     result.json                  canonical JSON given by the caller (metrics, ...)
 *     key.json                     canonical JSON of the key record, for `cache explain`
 *     manifest.json                CacheManifest; written last inside the temp dir
 *     last-used                    ISO time of the latest hit (best-effort, not verified)
 *   tmp/<random>/                  entries (and node records) being written; renamed
 *                                  into place only when complete
 *   trash/<random>/                entries being deleted; renamed here first so that no
 *                                  reader ever finds a half-deleted entry under entries/
 *   nodes/<sha256(scope\0nodeId)>.json   NodeRecord: the last key each plan node produced
 *   locks/<key>.lock               held while one run computes <key> (key-lock.ts), so
 *                                  concurrent runs compute each node once
 */
export const ENTRIES_DIR = 'entries';
export const TMP_DIR = 'tmp';
export const TRASH_DIR = 'trash';
export const NODES_DIR = 'nodes';
export const LOCKS_DIR = 'locks';
export const OUTPUTS_DIR = 'outputs';
export const MANIFEST_FILE = 'manifest.json';
export const RESULT_FILE = 'result.json';
export const KEY_FILE = 'key.json';
export const LAST_USED_FILE = 'last-used';
