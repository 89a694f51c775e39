import { DataError, formatLocation, isDataError } from '../../src/data/errors.js';

describe('DataError', () => {
  it.each<[string, ConstructorParameters<typeof DataError>[1], string]>([
    ['whole file', { code: 'truncated', file: 'a.idx' }, 'a.idx: boom'],
    ['line', { code: 'field-count', file: 'a.csv', line: 3 }, 'a.csv:3: boom'],
    ['line and column', { code: 'not-a-number', file: 'a.csv', line: 3, column: 7 }, 'a.csv:3:7: boom'],
    ['record', { code: 'label-out-of-range', file: 'y.npy', record: 0 }, 'y.npy: record 0: boom'],
  ])('formats the location: %s', (_name, info, message) => {
    const err = new DataError('boom', info);
    expect(err.message).toBe(message);
    expect(err.detail).toBe('boom');
    expect(err.name).toBe('DataError');
    expect(err).toBeInstanceOf(Error);
    expect(isDataError(err)).toBe(true);
    expect(formatLocation(info)).toBe(message.slice(0, -': boom'.length));
  });

  it('keeps hint and cause, and only the fields given', () => {
    const cause = new Error('ENOENT');
    const err = new DataError('no such file', { code: 'file-not-found', file: 'a', hint: 'check the path', cause });
    expect(err.hint).toBe('check the path');
    expect(err.cause).toBe(cause);
    expect('line' in err).toBe(false);
    expect('record' in err).toBe(false);
  });
});
