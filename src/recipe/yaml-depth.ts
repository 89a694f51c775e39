/**
 * The nesting-depth limit, checked on yaml's concrete syntax tree before the
 * document is composed.
 *
 * yaml's composer recurses once per nesting level, so a file nested ~1,000
 * deep (`[[[[...`, or `- - - ...` on one line: two bytes a level, well under
 * the size limit) overflows the stack and surfaces as "Maximum call stack
 * size exceeded". yaml's Parser builds the CST with its own explicit stack,
 * and this walk keeps one too, so the limit is found without recursion and
 * reported at the collection that crosses it.
 */
import { Parser } from 'yaml';
import type { CST } from 'yaml';

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * Offset of the first collection nested deeper than `maxDepth` (the top-level
 * collection is depth 1), or undefined when the text stays within it.
 * `onNewLine` gets each line start, as with yaml's Parser (a LineCounter's).
 */
export function firstTooDeep(text: string, maxDepth: number, onNewLine?: (offset: number) => void): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = [];
  for (const token of new Parser(onNewLine).parse(text)) stack.push({ token, depth: 0 });
  while (stack.length > 0) {
    const { token, depth: parent } = stack.pop()!;
    const depth = COLLECTIONS.has(token.type) ? parent + 1 : parent;
    if (depth > maxDepth) return (token as { offset: number }).offset;
    for (const child of children(token)) stack.push({ token: child, depth });
  }
  return undefined;
}

function children(token: CST.Token): CST.Token[] {
  switch (token.type) {
    case 'document':
      return token.value ? [token.value] : [];
    case 'block-map':
    case 'block-seq':
    case 'flow-collection': {
      const out: CST.Token[] = [];
      for (const item of token.items as { key?: CST.Token | null; value?: CST.Token | null }[]) {
        if (item.key) out.push(item.key);
        if (item.value) out.push(item.value);
      }
      return out;
    }
    default:
      return [];
  }
}
