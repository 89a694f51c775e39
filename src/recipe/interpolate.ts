/**
 * `${vars.name}` and `${matrix.key}` references inside recipe values.
 *
 * A value that is exactly one reference takes the referenced value with its
 * type (`sparsity: ${vars.s}` stays a number); a reference inside a longer
 * string is spliced in as text. `$${` writes a literal `${`.
 *
 * Two passes: `vars` are substituted when the recipe is resolved; `matrix`
 * references stay in place until the planner expands each combination, but
 * are checked here so a typo is reported up front.
 */
import type { Diagnostic, SourceLoc } from './diagnostic.js';
import { didYouMean, listCode } from './suggest.js';
import type { TreeNode } from './tree.js';
import { fromPlain, toPlain } from './tree.js';

const REF = /\$\$\{|\$\{([^}]*)\}/g;

export type Namespace = 'vars' | 'matrix';

export interface InterpolationScope {
  /** Values per namespace; a namespace that is absent is left untouched (deferred). */
  values: Partial<Record<Namespace, TreeNode>>;
  /** Names known in deferred namespaces, to check references without substituting. */
  deferred?: Partial<Record<Namespace, string[]>>;
  /** Keep `$${` escapes (a later pass will unescape them). */
  keepEscapes?: boolean;
}

/** Substitutes references in `node`, collecting diagnostics for bad ones. */
export function interpolate(node: TreeNode, scope: InterpolationScope, diagnostics: Diagnostic[]): TreeNode {
  switch (node.kind) {
    case 'map': {
      const entries = new Map([...node.entries].map(([k, e]) => [k, { ...e, value: interpolate(e.value, scope, diagnostics) }]));
      return { ...node, entries };
    }
    case 'seq':
      return { ...node, items: node.items.map((n) => interpolate(n, scope, diagnostics)) };
    case 'scalar': {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return node;
      return interpolateScalar(node.value, node.loc, scope, diagnostics) ?? node;
    }
  }
}

function interpolateScalar(text: string, loc: SourceLoc, scope: InterpolationScope, diagnostics: Diagnostic[]): TreeNode | undefined {
  const whole = /^\$\{([^}]*)\}$/.exec(text);
  if (whole) {
    const target = lookup(whole[1]!, text, loc, scope, diagnostics);
    if (target === 'deferred' || target === undefined) return undefined;
    // Type-preserving: the whole value becomes the referenced value, located at the use site.
    return relocate(target, loc);
  }
  let failed = false;
  const out = text.replace(REF, (match, expr: string | undefined) => {
    if (expr === undefined) return scope.keepEscapes ? match : '${';
    const target = lookup(expr, match, loc, scope, diagnostics);
    if (target === undefined) failed = true;
    if (target === 'deferred' || target === undefined) return match;
    const value = toPlain(target);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
  if (failed) return undefined;
  return { kind: 'scalar', loc, value: out };
}

function lookup(
  expr: string,
  matchText: string,
  loc: SourceLoc,
  scope: InterpolationScope,
  diagnostics: Diagnostic[],
): TreeNode | 'deferred' | undefined {
  const at = refLoc(loc, matchText);
  const parts = expr.trim().split('.');
  const ns = parts[0] as Namespace;
  if ((ns !== 'vars' && ns !== 'matrix') || parts.length < 2 || parts.some((p) => p === '')) {
    diagnostics.push({
      code: 'bad-interpolation',
      message: `cannot read \`${matchText}\`: references look like \${vars.name} or \${matrix.key}`,
      path: '',
      loc: at,
      hints: ['write `$${` for a literal `${`'],
    });
    return undefined;
  }
  const root = scope.values[ns];
  if (root === undefined) {
    const known = scope.deferred?.[ns];
    if (known === undefined) {
      diagnostics.push({
        code: ns === 'matrix' ? 'unknown-matrix-key' : 'unknown-var',
        message:
          ns === 'matrix'
            ? `\`${matchText}\` is used outside a stage with a \`matrix:\``
            : `\`${matchText}\`: this recipe defines no \`vars:\``,
        path: '',
        loc: at,
      });
      return undefined;
    }
    if (!known.includes(parts[1]!)) {
      diagnostics.push(unknownName(ns, parts[1]!, known, at));
      return undefined;
    }
    return 'deferred';
  }
  let cur: TreeNode | undefined = root;
  for (let i = 1; i < parts.length; i++) {
    const name = parts[i]!;
    if (cur?.kind !== 'map' || !cur.entries.has(name)) {
      const known = cur?.kind === 'map' ? [...cur.entries.keys()] : [];
      diagnostics.push(unknownName(ns, parts.slice(1, i + 1).join('.'), known, at));
      return undefined;
    }
    cur = cur.entries.get(name)!.value;
  }
  return cur;
}

function unknownName(ns: Namespace, name: string, known: string[], loc: SourceLoc): Diagnostic {
  const leaf = name.split('.').pop()!;
  return {
    code: ns === 'vars' ? 'unknown-var' : 'unknown-matrix-key',
    message: `no ${ns === 'vars' ? 'var' : 'matrix key'} \`${name}\`${didYouMean(leaf, known)}`,
    path: '',
    loc,
    hints: [known.length > 0 ? `defined: ${listCode(known)}` : `nothing is defined under \`${ns}:\``],
  };
}

/** Narrows a value's location to the `${...}` text when it can be found on the line. */
function refLoc(loc: SourceLoc, matchText: string): SourceLoc {
  const i = loc.sourceLine.indexOf(matchText, loc.column - 1);
  if (i === -1) return loc;
  return { ...loc, column: i + 1, length: matchText.length };
}

function relocate(node: TreeNode, loc: SourceLoc): TreeNode {
  return fromPlain(toPlain(node), loc);
}
