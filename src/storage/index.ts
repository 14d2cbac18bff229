/**
 * Byzer storage: collections with vector, full-text and hybrid retrieval on LanceDB (docs/storage.md).
 * LanceDB itself is imported only when a store is first used.
 */
export {
  ByzerStorage,
  type ByzerStorageOptions,
  type ClusterOwner,
  connectStorage,
  embedThrough,
  openLocalStore,
  type StorageCarrier,
} from './byzer-storage.js';
export { FilterBuilder, QueryBuilder, SchemaBuilder, WriteBuilder } from './storage-builders.js';
export * from './storage-protocol.js';
export { type EmbedFunction, StorageService, type StorageServiceOptions } from './storage-service.js';
export { segmentText, segmentWords } from './segment-text.js';
export {
  DataType,
  FieldOption,
  formatSchema,
  parseSchema,
  SortOption,
  type TableSchema,
} from './table-schema.js';
export { createStorageRoutes, STORAGE_ROUTE_PREFIX } from './storage-routes.js';
