/**
 * The CLI prints diagnostics with the same text the library API formats
 * (src/recipe/format-diagnostic.ts); kept as a module so CLI code has one
 * place to import it from.
 */
export { formatDiagnostic, formatDiagnostics } from '../recipe/format-diagnostic.js';
