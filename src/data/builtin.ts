/**
 * The loaders modelpress ships. The composition root calls this on the
 * registry it builds; nothing registers by import side effect, so tests and
 * embedders can build a registry with exactly the loaders they want.
 */
import { csvLoader } from './csv.js';
import { idxLoader } from './idx.js';
import { imagesLoader } from './images.js';
import type { DatasetRegistry } from './loader.js';
import { mnistLoader } from './mnist.js';
import { npyLoader } from './npy.js';
import { textLoader } from './text/text.js';

export const BUILTIN_LOADERS = [csvLoader, idxLoader, imagesLoader, mnistLoader, npyLoader, textLoader] as const;

export function registerBuiltinLoaders(registry: DatasetRegistry): void {
  for (const loader of BUILTIN_LOADERS) registry.register(loader, 'builtin');
}
