/**
 * Reading one YAML file (a recipe or a preset) into a located tree.
 *
 * We walk yaml's AST ourselves instead of calling `toJS()` so that every
 * value keeps its position, and so alias expansion is counted: a file full of
 * nested aliases ("billion laughs") is refused before it can blow up.
 */
import { readFile, stat } from 'node:fs/promises';
import { Alias, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { Diagnostic, SourceLoc } from './diagnostic.js';
import { fail, ok } from './diagnostic.js';
import type { Result } from './diagnostic.js';
import { RECIPE_LIMITS } from './limits.js';
import type { MapEntry, Scalar, TreeNode } from './tree.js';
import { firstTooDeep } from './yaml-depth.js';

export interface ParsedFile {
  /** The path as given (for messages); relative paths stay relative. */
  file: string;
  text: string;
  tree: TreeNode;
}

export interface LoadOptions {
  /** Name to show in diagnostics; defaults to the path. */
  displayName?: string;
}

/** Reads and parses a file, refusing files over the size limit. */
export async function loadYamlFile(path: string, opts: LoadOptions = {}): Promise<Result<ParsedFile>> {
  const file = opts.displayName ?? path;
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) return fail([fileDiagnostic('file-unreadable', file, `${file} is not a file`)]);
    size = st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No location: the caller knows where the file was named (an `extends`
    // entry, a CLI argument) and attaches that.
    if (code === 'ENOENT') return fail([{ code: 'file-not-found', message: `no such file: ${file}`, path: '' }]);
    return fail([fileDiagnostic('file-unreadable', file, `cannot read ${file}: ${(err as Error).message}`)]);
  }
  if (size > RECIPE_LIMITS.maxFileBytes) {
    return fail([
      fileDiagnostic(
        'file-too-large',
        file,
        `${file} is ${size} bytes; recipe and preset files are limited to ${RECIPE_LIMITS.maxFileBytes} bytes`,
        ['a recipe describes a pipeline; keep data and weights in separate files it points to'],
      ),
    ]);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return fail([fileDiagnostic('file-unreadable', file, `cannot read ${file}: ${(err as Error).message}`)]);
  }
  return parseYamlText(text, file);
}

/** Parses YAML text already in memory (used by tests and `--set`). */
export function parseYamlText(text: string, file: string): Result<ParsedFile> {
  const lineCounter = new LineCounter();
  const lines = text.split(/\r?\n/);
  const at = (offset: number, end?: number): SourceLoc => {
    const { line, col } = lineCounter.linePos(Math.min(offset, Math.max(0, text.length)));
    const sourceLine = lines[line - 1] ?? '';
    const span = end === undefined ? 1 : end - offset;
    const length = Math.max(1, Math.min(span, sourceLine.length - (col - 1)));
    return { file, line, column: col, sourceLine, length };
  };
  // Before composing: yaml's composer recurses per level and would overflow
  // the stack. The scan fills the line counter; parseDocument is then not run.
  const tooDeep = firstTooDeep(text, RECIPE_LIMITS.maxDepth, lineCounter.addNewLine);
  if (tooDeep !== undefined) return fail([depthError(at(tooDeep))]);
  lineCounter.lineStarts.length = 0; // parseDocument counts the lines again
  // uniqueKeys (the default) turns duplicate keys into syntax errors with positions.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((e) => ({
        code: 'yaml-syntax' as const,
        message: `YAML syntax error: ${firstLine(e.message)}`,
        path: '',
        loc: at(e.pos[0]),
      })),
    );
  }
  const builder = new TreeBuilder(doc, at);
  const contents = doc.contents as YamlNode | null;
  if (contents === null) {
    return ok({ file, text, tree: { kind: 'map', loc: at(0), entries: new Map() } });
  }
  const tree = builder.build(contents);
  if (builder.error) return fail([builder.error]);
  return ok({ file, text, tree: tree! });
}

class TreeBuilder {
  private aliases = 0;
  private nodes = 0;
  error: Diagnostic | undefined;

  constructor(
    private readonly doc: Document,
    private readonly at: (offset: number, end?: number) => SourceLoc,
  ) {}

  build(node: YamlNode, expanding?: Alias, depth = 0): TreeNode | undefined {
    if (this.error) return undefined;
    // The text was checked before composing; aliases can still stack nesting (a deep value inside a deep list).
    if ((isMap(node) || isSeq(node)) && ++depth > RECIPE_LIMITS.maxDepth) {
      this.error = depthError(this.locOf(expanding ?? node));
      return undefined;
    }
    if (++this.nodes > RECIPE_LIMITS.maxNodes) {
      this.error = aliasError(
        this.locOf(expanding ?? node),
        `this file expands to more than ${RECIPE_LIMITS.maxNodes} values; aliases nested this deep look like a "billion laughs" attack`,
      );
      return undefined;
    }
    if (isAlias(node)) {
      if (++this.aliases > RECIPE_LIMITS.maxAliases) {
        // Counted per expansion, so aliases nested inside aliases multiply the count.
        this.error = aliasError(
          this.locOf(expanding ?? node),
          `more than ${RECIPE_LIMITS.maxAliases} alias expansions in one file (aliases inside aliases multiply)`,
        );
        return undefined;
      }
      const target = node.resolve(this.doc);
      if (target === undefined) {
        this.error = {
          code: 'yaml-syntax',
          message: `YAML syntax error: unresolved alias *${node.source}`,
          path: '',
          loc: this.locOf(node),
        };
        return undefined;
      }
      return this.build(target as YamlNode, expanding ?? node, depth);
    }
    const loc = this.locOf(expanding ?? node);
    if (isMap(node)) {
      const entries = new Map<string, MapEntry>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as YamlNode | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const keyLoc = keyNode ? this.locOf(expanding ?? keyNode) : loc;
        const valueNode = pair.value as YamlNode | null;
        const value: TreeNode | undefined =
          valueNode === null
            ? { kind: 'scalar', loc: keyLoc, value: null }
            : this.build(valueNode, expanding, depth);
        if (value === undefined) return undefined;
        entries.set(key, { keyLoc, value });
      }
      return { kind: 'map', loc, entries };
    }
    if (isSeq(node)) {
      const items: TreeNode[] = [];
      for (const item of node.items) {
        const child: TreeNode | undefined =
          item === null ? { kind: 'scalar', loc, value: null } : this.build(item as YamlNode, expanding, depth);
        if (child === undefined) return undefined;
        items.push(child);
      }
      return { kind: 'seq', loc, items };
    }
    if (isScalar(node)) {
      const value = taggedNumber(node.tag, node.value);
      if (value === INVALID) {
        this.error = { code: 'yaml-syntax', message: `YAML syntax error: \`${node.tag!.replace(TAG_PREFIX, '!!')} ${String(node.value)}\` is not a number`, path: '', loc };
        return undefined;
      }
      return { kind: 'scalar', loc, value: toScalar(value) };
    }
    return { kind: 'scalar', loc, value: null };
  }

  private locOf(node: YamlNode): SourceLoc {
    const range = node.range;
    return range ? this.at(range[0], range[1]) : this.at(0);
  }
}

const TAG_PREFIX = 'tag:yaml.org,2002:';
const INVALID = Symbol('invalid');
/** A decimal number as YAML 1.2's core schema writes one, with or without a fraction. */
const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * `!!float 1` and `!!int 3`: yaml resolves a tagged scalar with the tag's own
 * pattern, and its float pattern wants a dot or exponent, so `!!float 1` came
 * out as the string "1" (and was reported as "got the string"). YAML 1.2
 * says it is the number 1.0; a tagged value that is no number is an error.
 */
function taggedNumber(tag: string | undefined, value: unknown): unknown {
  if (typeof value !== 'string' || (tag !== `${TAG_PREFIX}float` && tag !== `${TAG_PREFIX}int`)) return value;
  return DECIMAL.test(value.trim()) ? Number(value) : INVALID;
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
}

function depthError(loc: SourceLoc): Diagnostic {
  return {
    code: 'yaml-too-deep',
    message: `values are nested more than ${RECIPE_LIMITS.maxDepth} deep here; recipes need a handful of levels`,
    path: '',
    loc,
    hints: ['a recipe this deep is generated or hostile: flatten it'],
  };
}

function aliasError(loc: SourceLoc, message: string): Diagnostic {
  return {
    code: 'yaml-alias-limit',
    message,
    path: '',
    loc,
    hints: ['write the values out, or use `extends:` presets to share configuration'],
  };
}

function fileDiagnostic(code: Diagnostic['code'], file: string, message: string, hints?: string[]): Diagnostic {
  return {
    code,
    message,
    path: '',
    loc: { file, line: 1, column: 1, sourceLine: '', length: 1 },
    ...(hints ? { hints } : {}),
  };
}

function firstLine(message: string): string {
  // yaml appends "at line N, column M:" plus a snippet; we print our own snippet.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
