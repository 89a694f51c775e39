/**
 * Turning ajv's errors into diagnostics a person can act on: the key path in
 * recipe terms, the source location (key or value, whichever is wrong), what
 * was expected, and a "did you mean" when the mistake looks like a typo.
 */
import type { ErrorObject } from 'ajv';
import type { Diagnostic, DiagnosticCode, PathSegment } from './diagnostic.js';
import { formatPath } from './diagnostic.js';
import { recipeSchema } from './schema.js';
import { didYouMean, listCode } from './suggest.js';
import type { TreeNode } from './tree.js';
import { locate, nodeAt } from './tree.js';

type Schema = Record<string, unknown>;

/** Splits ajv's JSON-pointer instancePath, typing list indices as numbers. */
export function pointerToPath(root: TreeNode, pointer: string): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const parent = nodeAt(root, out);
    out.push(parent?.kind === 'seq' && /^\d+$/.test(seg) ? Number(seg) : seg);
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  // YAML reads `1e999` as Infinity without a word; say why a "number" is not one.
  if (typeof v === 'number' && !Number.isFinite(v)) return `${String(v)} (numbers must be finite; a literal such as 1e999 overflows to Infinity)`;
  return `${typeof v} ${String(v)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'null',
};

function typeList(t: unknown): string {
  const types = Array.isArray(t) ? t : [t];
  return types.map((x) => TYPE_NAMES[String(x)] ?? String(x)).join(' or ');
}

function where(path: PathSegment[]): string {
  return path.length === 0 ? 'the recipe' : `\`${formatPath(path)}\``;
}

/**
 * Converts ajv errors for data rooted at `base` (a path into the recipe tree)
 * into diagnostics located in `tree`.
 */
export function schemaErrorsToDiagnostics(errors: readonly ErrorObject[], tree: TreeNode, base: PathSegment[] = []): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const baseNode = nodeAt(tree, base) ?? tree;
  for (const e of errors) {
    // propertyNames reports the same problem twice: once per failing sub-keyword
    // (tagged with propertyName) and once as a summary; keep the summary.
    if ((e as { propertyName?: string }).propertyName !== undefined) continue;
    const rel = pointerToPath(baseNode, e.instancePath);
    const path = [...base, ...rel];
    const d = translate(e, path, tree);
    if (!d) continue;
    const id = `${d.path}\0${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(d);
  }
  return out;
}

function diag(code: DiagnosticCode, message: string, path: PathSegment[], tree: TreeNode, opts: { key?: boolean; hints?: string[] } = {}): Diagnostic {
  return {
    code,
    message,
    path: formatPath(path),
    loc: locate(tree, path, { key: opts.key ?? false }),
    ...(opts.hints && opts.hints.length > 0 ? { hints: opts.hints } : {}),
  };
}

function translate(e: ErrorObject, path: PathSegment[], tree: TreeNode): Diagnostic | undefined {
  const parent = (e.parentSchema ?? {}) as Schema;
  const p = e.params as Record<string, unknown>;
  const hintFromSchema = typeof parent.description === 'string' ? [parent.description] : [];
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((parent.properties ?? {}) as Schema);
      const keyPath = [...path, key];
      return diag(
        'unknown-key',
        `unknown key \`${key}\` in ${where(path)}${didYouMean(key, allowed)}`,
        keyPath,
        tree,
        { key: true, hints: allowed.length > 0 ? [`allowed keys: ${listCode(allowed)}`] : ['no keys are allowed here'] },
      );
    }
    case 'required': {
      const key = String(p.missingProperty);
      return diag('missing-key', `${where(path)} is missing the required key \`${key}\``, path, tree, {
        key: true,
        hints: describeProperty(parent, key),
      });
    }
    case 'type':
      return diag('wrong-type', `${where(path)} must be ${typeList(p.type)}, got ${describeValue(e.data)}`, path, tree, { hints: hintFromSchema });
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const got = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return diag('bad-value', `${where(path)} must be one of ${listCode(allowed)}, got ${describeValue(e.data)}${got}`, path, tree, { hints: hintFromSchema });
    }
    case 'const':
      return diag('bad-value', `${where(path)} must be ${JSON.stringify(p.allowedValue)}, got ${describeValue(e.data)}`, path, tree, { hints: hintFromSchema });
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return diag('out-of-range', `${where(path)} must be ${String(p.comparison)} ${String(p.limit)}, got ${String(e.data)}`, path, tree, { hints: hintFromSchema });
    case 'multipleOf':
      return diag('out-of-range', `${where(path)} must be a multiple of ${String(p.multipleOf)}, got ${String(e.data)}`, path, tree);
    case 'minItems':
    case 'maxItems':
      return diag(
        'bad-value',
        `${where(path)} must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`,
        path,
        tree,
        { hints: hintFromSchema },
      );
    case 'minLength':
    case 'maxLength':
      return diag(
        'bad-value',
        p.limit === 1 && e.keyword === 'minLength'
          ? `${where(path)} must not be empty`
          : `${where(path)} must be ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters long`,
        path,
        tree,
      );
    case 'minProperties':
    case 'maxProperties': {
      const allowed = Object.keys((parent.properties ?? {}) as Schema);
      if (parent.minProperties === 1 && parent.maxProperties === 1 && allowed.length > 0) {
        return diag('bad-value', `${where(path)} needs exactly one of ${listCode(allowed)}`, path, tree, { key: true, hints: hintFromSchema });
      }
      return diag('bad-value', `${where(path)} must have ${e.keyword === 'minProperties' ? 'at least' : 'at most'} ${String(p.limit)} key${p.limit === 1 ? '' : 's'}`, path, tree, { key: true });
    }
    case 'uniqueItems':
      return diag('bad-value', `${where(path)} lists the same value twice (items ${String(p.j)} and ${String(p.i)})`, path, tree);
    case 'pattern':
      return diag('bad-value', `${where(path)} has an invalid value ${describeValue(e.data)}`, path, tree, {
        hints: [...hintFromSchema, `expected a match for /${String(p.pattern)}/`],
      });
    case 'propertyNames': {
      const name = String(p.propertyName);
      const nameSchema = resolveLocalRef((parent.propertyNames ?? {}) as Schema, e.schemaPath);
      const hints = typeof nameSchema.description === 'string' ? [nameSchema.description] : [];
      if (typeof nameSchema.pattern === 'string') hints.push(`expected a match for /${nameSchema.pattern}/`);
      return diag('bad-value', `invalid name \`${name}\` in ${where(path)}`, [...path, name], tree, { key: true, hints });
    }
    default:
      return diag('bad-value', `${where(path)} ${e.message ?? 'is invalid'}`, path, tree, { hints: hintFromSchema });
  }
}

function describeProperty(parent: Schema, key: string): string[] {
  const prop = ((parent.properties ?? {}) as Record<string, Schema>)[key];
  return prop && typeof prop.description === 'string' ? [`\`${key}\`: ${prop.description}`] : [];
}

// propertyNames schemas in the recipe schema use `$ref: #/$defs/identifier`;
// follow it so the hint can show the identifier's description.
function resolveLocalRef(schema: Schema, _schemaPath: string): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/$defs/')) return schema;
  const defs = (recipeSchema() as { $defs?: Record<string, Schema> }).$defs ?? {};
  return defs[ref.slice('#/$defs/'.length)] ?? schema;
}
