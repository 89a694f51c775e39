/**
 * Label checks shared by the loaders: a label is a class index, an integer
 * in 0..classes-1, because stages one-hot encode it with `classes` columns;
 * anything else would silently train on a wrong target.
 */
import { DataError } from './errors.js';
import type { SourceFile } from './source.js';

/** The "(expected ...)" part of a label-out-of-range message. */
export function labelRangeText(classes?: number): string {
  return classes === undefined ? 'labels are class indices >= 0' : `expected 0..${classes - 1}`;
}

export function isValidLabel(v: number, classes?: number): boolean {
  return Number.isInteger(v) && v >= 0 && (classes === undefined || v < classes);
}

/**
 * Copies labels into an Int32Array, checking each; an invalid one is a
 * DataError naming its record (0-based, counted from the start of the file).
 */
export function checkLabels(values: ArrayLike<number>, src: SourceFile, firstRecord: number, classes?: number): Int32Array {
  const y = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!isValidLabel(v, classes)) {
      throw new DataError(`label ${v} is out of range (${labelRangeText(classes)})`, {
        code: 'label-out-of-range',
        file: src.label,
        record: firstRecord + i,
      });
    }
    y[i] = v;
  }
  return y;
}

/** The largest label, or -1 for none: `classes` defaults to this + 1. */
export function maxLabel(y: Int32Array): number {
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i]! > max) max = y[i]!;
  return max;
}
