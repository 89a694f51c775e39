import { parseYamlText } from '../../src/recipe/load.js';
import { RECIPE_LIMITS } from '../../src/recipe/limits.js';
import { toPlain } from '../../src/recipe/tree.js';
import { lines } from './helpers.js';

const deep = (open: string, close: string, n: number) => open.repeat(n) + close.repeat(n);

describe('parseYamlText: nesting depth limit', () => {
  // 10,000 deep used to overflow the stack inside yaml's composer ("Maximum call stack size exceeded").
  test.each([
    ['flow lists', `a: ${deep('[', ']', 10_000)}\n`, 'r.yaml:1:67'],
    ['flow maps', `a: ${deep('{b: ', '}', 10_000)}\n`, 'r.yaml:1:256'],
    ['compact block lists', `a:\n  ${'- '.repeat(10_000)}1\n`, 'r.yaml:2:129'],
  ])('%s nested 10,000 deep: one located error, no stack overflow', (_name, text, at) => {
    const r = parseYamlText(text, 'r.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(lines(r.diagnostics)).toEqual([`${at} yaml-too-deep: values are nested more than 64 deep here; recipes need a handful of levels`]);
  });

  test('64 levels are accepted, 65 are not', () => {
    expect(RECIPE_LIMITS.maxDepth).toBe(64);
    // The top-level map is level 1, `a`'s list level 2, ...
    const at = (n: number) => parseYamlText(`a: ${deep('[', ']', n)}\n`, 'r.yaml');
    expect(at(63).ok).toBe(true);
    const over = at(64);
    expect(over.ok ? [] : lines(over.diagnostics)).toEqual(['r.yaml:1:67 yaml-too-deep: values are nested more than 64 deep here; recipes need a handful of levels']);
  });

  test('aliases cannot stack past the limit either', () => {
    const text = `x: &x ${deep('[', ']', 40)}\ny: ${'['.repeat(40)}*x${']'.repeat(40)}\n`;
    const r = parseYamlText(text, 'r.yaml');
    expect(r.ok ? [] : lines(r.diagnostics)).toEqual(['r.yaml:2:44 yaml-too-deep: values are nested more than 64 deep here; recipes need a handful of levels']);
  });
});

describe('parseYamlText: explicit tags', () => {
  // yaml reads `!!float 1` as the string "1" (its float pattern wants a dot);
  // YAML 1.2 says it is the number 1.0, and messages must call it a number.
  test.each([
    ['a: !!float 1', 1],
    ['a: !!float -2', -2],
    ['a: !!float 1.5', 1.5],
    ['a: !!int 3', 3],
    ['a: !!str 3', '3'],
  ])('%s -> %p', (text, value) => {
    const r = parseYamlText(text, 'r.yaml');
    expect(r.ok && toPlain(r.value.tree)).toEqual({ a: value });
  });

  test('a tagged value that is not a number is a located error', () => {
    const r = parseYamlText('a: !!float abc\n', 'r.yaml');
    expect(r.ok ? [] : lines(r.diagnostics)).toEqual(['r.yaml:1:12 yaml-syntax: YAML syntax error: `!!float abc` is not a number']);
  });
});
