import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson, sha256Hex } from './canonical-json.js';

/** Size and content hash of one file. */
export interface FileHash {
  size: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
}

/** One file of a directory artifact. */
export interface FileDigest extends FileHash {
  /** Path relative to the artifact root, always with `/` separators. */
  path: string;
}

/** Content identity of a directory artifact. */
export interface DirectoryDigest {
  /** `sha256:<hex>` of `canonicalJson(files)`. */
  digest: string;
  /** Every regular file below the root, sorted by path. */
  files: FileDigest[];
}

/** A file found by `listFiles`. */
export interface ListedFile {
  /** Path relative to the listed root, with `/` separators. */
  path: string;
  absolute: string;
}

/**
 * Hashes a file as a stream: weight shards can be tens of MB and several stages
 * may hash at once, so the file is never held in memory whole.
 */
export async function digestFile(file: string): Promise<FileHash> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Digests every file below `dir`. Only paths and bytes count: timestamps and
 * permissions differ between checkouts and machines, and empty directories
 * carry no model content, so none of them change the digest.
 */
export async function digestDirectory(dir: string): Promise<DirectoryDigest> {
  const files: FileDigest[] = [];
  for (const file of await listFiles(dir)) {
    files.push({ path: file.path, ...(await digestFile(file.absolute)) });
  }
  return { digest: `sha256:${sha256Hex(canonicalJson(files))}`, files };
}

/**
 * Lists the regular files below `dir`, sorted by relative path. Symbolic links
 * are followed because model folders managed by tools such as DVC or git-annex
 * are made of links; a link back to an enclosing directory throws instead of
 * recursing forever. Sockets, FIFOs and devices throw: they have no content to
 * digest or copy.
 */
export async function listFiles(dir: string): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  const root = await stat(dir);
  if (!root.isDirectory()) {
    throw new Error(`Expected a directory, got a file: ${dir}`);
  }
  await walk(dir, '', new Set([`${root.dev}:${root.ino}`]), files);
  // Code-unit order, not localeCompare: the digest must not depend on the locale.
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function walk(dir: string, prefix: string, ancestors: Set<string>, out: ListedFile[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const absolute = path.join(dir, entry.name);
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    const info = entry.isSymbolicLink() ? await stat(absolute) : entry;
    if (info.isFile()) {
      out.push({ path: relative, absolute });
    } else if (info.isDirectory()) {
      const { dev, ino } = await stat(absolute);
      const id = `${dev}:${ino}`;
      if (ancestors.has(id)) {
        throw new Error(`Symbolic link cycle at ${absolute}`);
      }
      ancestors.add(id);
      await walk(absolute, relative, ancestors, out);
      ancestors.delete(id);
    } else {
      throw new Error(`Expected a regular file or directory, got a special file: ${absolute}`);
    }
  }
}
