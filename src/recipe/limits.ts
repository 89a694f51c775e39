/**
 * Safety limits for recipe and preset files. Recipes come from repos and npm
 * packages, so a hostile or broken file must fail fast instead of exhausting
 * memory. The numbers are far above any real recipe (the largest shipped
 * example is ~3 KB with no aliases).
 */
export const RECIPE_LIMITS = {
  /** Largest recipe or preset file accepted, in bytes. */
  maxFileBytes: 1024 * 1024,
  /** Most alias (`*name`) uses in one file. */
  maxAliases: 100,
  /** Most tree nodes one file may expand to (guards alias fan-out, "billion laughs"). */
  maxNodes: 100_000,
  /**
   * Deepest nesting of maps and lists (the top-level map is 1). Real recipes
   * nest under 10; without a limit, yaml's composer overflows the stack
   * around 1,000 levels.
   */
  maxDepth: 64,
  /** Deepest `extends` chain. */
  maxExtendsDepth: 32,
} as const;
