/**
 * A data file as both the machine and the user know it: the absolute path to
 * open, and the label to print (the path as written in the recipe). Errors
 * name the label, because that is what the user can find and fix.
 *
 * The read helpers turn fs failures into DataErrors and read into fresh
 * ArrayBuffers, so callers can put Float32Array views on the bytes without
 * alignment surprises (Buffer.allocUnsafe may hand out a shared, offset pool).
 */
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { DataError } from './errors.js';

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** How messages name the file: the path as the user wrote it. */
  label: string;
}

/** `file` as written in a recipe, resolved against the recipe's directory. */
export function sourceFile(file: string, baseDir: string): SourceFile {
  return { path: isAbsolute(file) ? file : resolve(baseDir, file), label: file };
}

/** Stats a data file; a missing path or a directory is `file-not-found`. */
export async function statSource(src: SourceFile): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(src.path);
  } catch (err) {
    throw fsError(src, err);
  }
  if (!st.isFile()) {
    throw new DataError(`not a file: ${src.path}`, { code: 'file-not-found', file: src.label });
  }
  return st;
}

export async function openSource(src: SourceFile): Promise<FileHandle> {
  try {
    return await open(src.path, 'r');
  } catch (err) {
    throw fsError(src, err);
  }
}

/**
 * Reads `length` bytes at `position` into a new, exactly sized Uint8Array
 * (byteOffset 0). The caller has already checked the file is long enough, so
 * a short read means the file shrank meanwhile: reported as truncated.
 */
export async function readAt(fh: FileHandle, src: SourceFile, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  try {
    // One read may return fewer bytes than asked (large reads, some filesystems): loop.
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
  } catch (err) {
    throw fsError(src, err);
  }
  if (done < length) {
    throw new DataError(`truncated: expected ${position + length} bytes, found ${position + done}`, { code: 'truncated', file: src.label });
  }
  return out;
}

function fsError(src: SourceFile, err: unknown): DataError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new DataError(`no such file: ${src.path}`, {
      code: 'file-not-found',
      file: src.label,
      hint: 'relative paths are resolved from the recipe\'s directory',
      cause: err,
    });
  }
  return new DataError(`cannot read: ${(err as Error).message}`, { code: 'file-unreadable', file: src.label, cause: err });
}
