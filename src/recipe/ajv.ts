/**
 * The one ajv instance. Compiling a schema is expensive and ajv keeps an
 * internal registry of `$id`s, so every schema (the recipe's and each stage
 * plugin's) is compiled here once and memoised by object identity.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AnySchema, ValidateFunction } from 'ajv/dist/2020.js';

let instance: Ajv2020 | undefined;

export function sharedAjv(): Ajv2020 {
  instance ??= new Ajv2020({
    allErrors: true, // report every problem at once, not the first
    verbose: true, // keep parentSchema: error messages list allowed keys and values from it
    strict: true,
    allowUnionTypes: true,
    useDefaults: true, // the validated config includes defaults, so cache keys do too
  });
  return instance;
}

const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles (once) and returns the validator for `schema`. Throws on an invalid schema. */
export function compileSchema(schema: AnySchema): ValidateFunction {
  if (typeof schema === 'boolean') return sharedAjv().compile(schema);
  let fn = compiled.get(schema);
  if (!fn) {
    fn = sharedAjv().compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}
