import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from './canonical-json.js';
import { digestDirectory } from './digest.js';
import type { DirectoryDigest } from './digest.js';
import { compareStrings, errorCode, fileProblem } from './fs-helpers.js';
import { OUTPUTS_DIR } from './layout.js';

/** Reads `dir/name`, checks its bytes against `sha256`, and parses it. */
export async function readVerifiedJson(
  dir: string,
  name: string,
  sha256: string,
): Promise<{ value: unknown } | { reason: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, name));
  } catch (error) {
    return { reason: `${name}: ${fileProblem(error)}` };
  }
  if (sha256Hex(bytes) !== sha256) return { reason: `${name}: sha256 mismatch` };
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch {
    return { reason: `${name}: invalid JSON` };
  }
}

/**
 * The first difference between the outputs stored in `outputsDir` and the
 * manifest, named by its path inside the entry, or undefined when all match.
 */
export async function verifyOutputs(
  outputsDir: string,
  expected: Record<string, DirectoryDigest>,
): Promise<string | undefined> {
  let present: string[] = [];
  try {
    present = (await readdir(outputsDir)).sort(compareStrings);
  } catch (error) {
    // An entry without outputs has no outputs/ dir; missing ones are caught below.
    if (errorCode(error) !== 'ENOENT') return `${OUTPUTS_DIR}: ${fileProblem(error)}`;
  }
  for (const name of present) {
    if (!Object.hasOwn(expected, name)) return `${OUTPUTS_DIR}/${name}: not in manifest`;
  }
  for (const [name, want] of Object.entries(expected).sort(([a], [b]) => compareStrings(a, b))) {
    const label = `${OUTPUTS_DIR}/${name}`;
    if (!present.includes(name)) return `${label}: missing`;
    let found: DirectoryDigest;
    try {
      found = await digestDirectory(path.join(outputsDir, name));
    } catch (error) {
      return `${label}: ${fileProblem(error)}`;
    }
    const problem = compareDigests(label, want, found);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function compareDigests(label: string, want: DirectoryDigest, found: DirectoryDigest): string | undefined {
  const actual = new Map(found.files.map((file) => [file.path, file]));
  for (const file of want.files) {
    const where = `${label}/${file.path}`;
    const other = actual.get(file.path);
    if (other === undefined) return `${where}: missing`;
    if (other.size !== file.size) return `${where}: size mismatch (expected ${file.size} bytes, found ${other.size})`;
    if (other.sha256 !== file.sha256) return `${where}: sha256 mismatch`;
    actual.delete(file.path);
  }
  const [extra] = actual.keys();
  if (extra !== undefined) return `${label}/${extra}: unexpected file`;
  // Every file matched, so only a hand-edited manifest gets here.
  if (found.digest !== want.digest) return `${label}: digest mismatch`;
  return undefined;
}
