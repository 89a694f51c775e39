/**
 * Which layers a compression stage touches. Shared by prune, share, quantize
 * and distill so every stage reads `layers:` and `exclude:` the same way:
 *
 *   layers:  { "dense*": { sparsity: 0.9 }, "re:^conv[12]$": { sparsity: 0.5 } }
 *   exclude: [ "logits" ]
 *
 * Patterns are globs over layer names (`*`, `?`, `[abc]`, matched against the
 * whole name), or regular expressions with a `re:` prefix (unanchored, as
 * written). Without `layers:`, every eligible layer is targeted with the
 * stage's top-level settings. Where several patterns match a layer, later
 * ones override earlier ones, key by key. A pattern that matches no layer is
 * an error naming the model's layers: a typo must never silently do nothing.
 */
import { StageConfigError } from '../../stage-definition.js';

export type PatternMatcher = (name: string) => boolean;

export function compilePattern(pattern: string): PatternMatcher {
  if (pattern.startsWith('re:')) {
    const re = new RegExp(pattern.slice(3));
    return (name) => re.test(name);
  }
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) src += '\\[';
      else {
        src += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else src += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const re = new RegExp(`^${src}$`);
  return (name) => re.test(name);
}

export interface TargetingOptions<S> {
  /** Pattern -> per-layer settings overriding the stage defaults. */
  layers?: Record<string, Partial<S>>;
  /** Patterns of layers to leave alone. */
  exclude?: string[];
}

/**
 * Resolves targeting for a model. `eligible` lists the layers this stage can
 * act on at all (e.g. those with a 2-D kernel), in model order; `all` is every
 * layer name, for error messages. Returns layer -> effective settings.
 */
export function selectLayers<S extends object>(eligible: readonly string[], all: readonly string[], defaults: S, opts: TargetingOptions<S>): Map<string, S> {
  const check = (pattern: string, path: (string | number)[]) => {
    let matcher: PatternMatcher;
    try {
      matcher = compilePattern(pattern);
    } catch (err) {
      throw new StageConfigError(`invalid pattern \`${pattern}\`: ${(err as Error).message}`, path);
    }
    const hits = eligible.filter(matcher);
    if (hits.length === 0) {
      const anyLayer = all.filter(matcher);
      throw new StageConfigError(
        anyLayer.length > 0
          ? `pattern \`${pattern}\` matches only layers this stage cannot act on (${anyLayer.join(', ')})`
          : `pattern \`${pattern}\` matches no layer of the model`,
        path,
        [`eligible layers: ${eligible.join(', ') || '(none)'}`, `all layers: ${all.join(', ')}`],
      );
    }
    return new Set(hits);
  };
  const excluded = new Set<string>();
  (opts.exclude ?? []).forEach((p, i) => check(p, ['exclude', i]).forEach((n) => excluded.add(n)));
  const out = new Map<string, S>();
  if (opts.layers && Object.keys(opts.layers).length > 0) {
    for (const [pattern, settings] of Object.entries(opts.layers)) {
      for (const name of check(pattern, ['layers', pattern])) {
        if (excluded.has(name)) continue;
        out.set(name, { ...(out.get(name) ?? defaults), ...settings });
      }
    }
    // Keep model order, not pattern order.
    return new Map(eligible.filter((n) => out.has(n)).map((n) => [n, out.get(n)!]));
  }
  for (const name of eligible) if (!excluded.has(name)) out.set(name, { ...defaults });
  return out;
}

/** JSON Schema pieces for `layers:` and `exclude:`; `settings` is the per-layer schema. */
export function targetingSchema(settings: object): Record<string, object> {
  return {
    layers: {
      type: 'object',
      description: 'Layer name pattern (glob, or `re:` + regex) -> settings for matching layers. Without it, every eligible layer is targeted.',
      additionalProperties: settings,
    },
    exclude: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'Layer name patterns to leave untouched.',
    },
  };
}
