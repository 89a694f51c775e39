/**
 * `ctx.data(name)` for a stage: loads a dataset the recipe declares, through
 * the loader registry, once per worker.
 */
import type { Dataset } from '../data/dataset.js';
import type { DatasetRegistry } from '../data/loader.js';
import type { Json } from '../plugin.js';

export function createDataAccess(specs: Record<string, Json>, baseDir: string, loaders: DatasetRegistry): (name: string) => Promise<Dataset> {
  const loaded = new Map<string, Promise<Dataset>>();
  return (name) => {
    let p = loaded.get(name);
    if (!p) {
      p = (async () => {
        const spec = specs[name] as { uses?: string } | undefined;
        if (!spec || typeof spec.uses !== 'string') {
          const names = Object.keys(specs);
          throw new Error(`no dataset \`${name}\` in the recipe's \`data:\`${names.length > 0 ? ` (declared: ${names.join(', ')})` : ' (it declares none)'}`);
        }
        const loader = loaders.get(spec.uses);
        if (!loader) throw new Error(`dataset \`${name}\` uses unknown loader \`${spec.uses}\` (known: ${loaders.names().join(', ')})`);
        const { uses: _uses, ...options } = spec;
        return loader.load(options, { baseDir, name });
      })();
      loaded.set(name, p);
    }
    return p;
  };
}
