import { importOptional } from '../core/index.js';

/**
 * DuckDB is an optional package (70 MB of native code a client does not need): it and the modules
 * that use its values are imported when the first session opens.
 */
export function loadDuckDBModules() {
  return importOptional(
    async () => ({
      duckdb: await import('@duckdb/node-api'),
      functions: await import('./model-functions.js'),
      registry: await import('./model-registry.js'),
    }),
    { feature: 'byzerllm sql', packages: ['@duckdb/node-api'] },
  );
}
