/**
 * Content hashes of data files, memoised within the process.
 *
 * A dataset's fingerprint must change when a file's bytes change, so the bytes
 * are hashed (sha256, streamed: MNIST's image file alone is 47 MB). Planning a
 * recipe asks for the same fingerprints many times (every node's cache key),
 * so a hash is remembered under (path, size, mtimeMs) and reused while those
 * are unchanged.
 *
 * The "racy clean" problem (as in git): file times are coarse (a kernel tick,
 * a few ms; whole seconds on some filesystems), so a file rewritten with the
 * same size right after being hashed can keep its mtime. A hash is therefore
 * only remembered once the file's mtime is safely in the past; a file written
 * in the last few seconds is rehashed every time, which costs little.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DataError } from './errors.js';
import type { SourceFile } from './source.js';
import { statSource } from './source.js';

export interface FileHash {
  /** Hex sha256 of the file's bytes. */
  sha256: string;
  size: number;
}

/** Files modified less than this long ago are not memoised (see the racy-clean note above). */
export const RACY_WINDOW_MS = 3000;

export class FileHashCache {
  private readonly entries = new Map<string, Promise<FileHash>>();

  /** Number of remembered hashes. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets every remembered hash. */
  clear(): void {
    this.entries.clear();
  }

  /**
   * The file's hash; a DataError (`file-not-found`, `file-unreadable`) when it
   * cannot be read. Concurrent calls for the same unchanged file share one read.
   */
  async hash(src: SourceFile): Promise<FileHash> {
    const st = await statSource(src);
    const key = `${src.path}\0${st.size}\0${st.mtimeMs}`;
    const known = this.entries.get(key);
    if (known) return known;
    const pending = hashStream(src);
    if (Date.now() - st.mtimeMs < RACY_WINDOW_MS) return pending;
    this.entries.set(key, pending);
    // A failed read must not be remembered: the next call should try again.
    pending.catch(() => this.entries.delete(key));
    return pending;
  }
}

/** The cache shared by loaders in this process unless a caller passes its own. */
export const processFileHashes = new FileHashCache();

async function hashStream(src: SourceFile): Promise<FileHash> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(src.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (err) {
    throw new DataError(`cannot read: ${(err as Error).message}`, { code: 'file-unreadable', file: src.label, cause: err });
  }
  return { sha256: hash.digest('hex'), size };
}
