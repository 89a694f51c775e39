/**
 * Writes a file so that readers see the old content or the whole new content,
 * never a prefix: a full disk used to leave run.json cut off at 16 KiB, which
 * `report` and `reproduce` then failed to parse.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/** Writes `data` to a temp file beside `file`, then renames it over `file`; the temp file is removed on failure. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  // Same directory, so the rename cannot cross file systems.
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
