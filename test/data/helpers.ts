/**
 * Builders for tiny binary fixtures (IDX, NPY) written into temp dirs, so each
 * test states the exact bytes it reads instead of depending on opaque files.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir removed after the suite. Call at describe level. */
export function useTempDir(prefix = 'mp-data-'): { readonly dir: string; write(name: string, data: string | Uint8Array, mtime?: Date): string } {
  const state = { dir: '' };
  beforeAll(() => {
    state.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(state.dir, { recursive: true, force: true }));
  return {
    get dir() {
      return state.dir;
    },
    write(name: string, data: string | Uint8Array, mtime?: Date) {
      const p = join(state.dir, name);
      writeFileSync(p, data);
      if (mtime) utimesSync(p, mtime, mtime);
      return p;
    },
  };
}

/** A date safely outside the file-hash cache's racy window. */
export const LONG_AGO = new Date('2020-01-01T00:00:00Z');

const IDX_TYPES = { uint8: [0x08, 1], int8: [0x09, 1], int16: [0x0b, 2], int32: [0x0c, 4], float32: [0x0d, 4], float64: [0x0e, 8] } as const;

/** IDX bytes: magic, big-endian dims, big-endian values. */
export function idx(dtype: keyof typeof IDX_TYPES, dims: number[], values: number[]): Uint8Array {
  const [code, size] = IDX_TYPES[dtype];
  const buf = new Uint8Array(4 + 4 * dims.length + values.length * size);
  const v = new DataView(buf.buffer);
  buf[2] = code;
  buf[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  let o = 4 + 4 * dims.length;
  for (const x of values) {
    if (dtype === 'uint8') v.setUint8(o, x);
    else if (dtype === 'int8') v.setInt8(o, x);
    else if (dtype === 'int16') v.setInt16(o, x, false);
    else if (dtype === 'int32') v.setInt32(o, x, false);
    else if (dtype === 'float32') v.setFloat32(o, x, false);
    else v.setFloat64(o, x, false);
    o += size;
  }
  return buf;
}

const NPY_SIZES: Record<string, number> = { '<f4': 4, '>f4': 4, '<f8': 8, '|u1': 1, '<i4': 4, '<i8': 8, '<i2': 2 };

/** NPY bytes (format 1.0 by default), header padded to 64 bytes like numpy does. */
export function npy(
  descr: string,
  shape: number[],
  values: number[],
  opts: { fortran?: boolean; version?: 1 | 2; rawHeader?: string } = {},
): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = opts.rawHeader ?? `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const version = opts.version ?? 1;
  const pre = version === 1 ? 10 : 12;
  let header = `${dict} `;
  while ((pre + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const size = NPY_SIZES[descr] ?? 4;
  const buf = new Uint8Array(pre + header.length + values.length * size);
  const v = new DataView(buf.buffer);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) v.setUint16(8, header.length, true);
  else v.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) buf[pre + i] = header.charCodeAt(i);
  let o = pre + header.length;
  for (const x of values) {
    if (descr === '<f4') v.setFloat32(o, x, true);
    else if (descr === '>f4') v.setFloat32(o, x, false);
    else if (descr === '<f8') v.setFloat64(o, x, true);
    else if (descr === '|u1') v.setUint8(o, x);
    else if (descr === '<i4') v.setInt32(o, x, true);
    else if (descr === '<i2') v.setInt16(o, x, true);
    else if (descr === '<i8') v.setBigInt64(o, BigInt(x), true);
    o += size;
  }
  return buf;
}

/** Runs `fn` and returns what it threw (fails the test when nothing was thrown). */
export async function caught(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected an error, but nothing was thrown');
}

/** The synchronous twin of `caught`. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, but nothing was thrown');
}
