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
  // uniqueKeys (the default) turns duplicate keys into syntax errors with positions.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lines = text.split(/\r?\n/);
  const at = (offset: number, end?: number): SourceLoc => {
    const { line, col } = lineCounter.linePos(Math.min(offset, Math.max(0, text.length)));
    const sourceLine = lines[line - 1] ?? '';
    const span = end === undefined ? 1 : end - offset;
    const length = Math.max(1, Math.min(span, sourceLine.length - (col - 1)));
    return { file, line, column: col, sourceLine, length };
  };

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

  build(node: YamlNode, expanding?: Alias): TreeNode | undefined {
    if (this.error) return undefined;
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
      return this.build(target as YamlNode, expanding ?? node);
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
            : this.build(valueNode, expanding);
        if (value === undefined) return undefined;
        entries.set(key, { keyLoc, value });
      }
      return { kind: 'map', loc, entries };
    }
    if (isSeq(node)) {
      const items: TreeNode[] = [];
      for (const item of node.items) {
        const child: TreeNode | undefined =
          item === null ? { kind: 'scalar', loc, value: null } : this.build(item as YamlNode, expanding);
        if (child === undefined) return undefined;
        items.push(child);
      }
      return { kind: 'seq', loc, items };
    }
    if (isScalar(node)) {
      return { kind: 'scalar', loc, value: toScalar(node.value) };
    }
    return { kind: 'scalar', loc, value: null };
  }

  private locOf(node: YamlNode): SourceLoc {
    const range = node.range;
    return range ? this.at(range[0], range[1]) : this.at(0);
  }
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
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
