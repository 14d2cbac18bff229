/**
 * Byzer storage over HTTP: `POST /v1/storage/<operation>` on the gateway (`byzerllm serve`), one
 * route per storage operation, the body the operation's JSON (docs/storage.md). The head mounts
 * these routes on its gateways; the gateway's API key and error mapping apply as to every endpoint.
 */
import { NotFoundError } from '../core/index.js';
import { STORAGE_OPERATIONS, type StorageConnection, type StorageOperation } from './storage-protocol.js';

export const STORAGE_ROUTE_PREFIX = '/v1/storage/';

/** The gateway mount for a store (the shape of `MountedJsonRoutes` in `src/server`). */
export function createStorageRoutes(connection: StorageConnection): {
  prefix: string;
  handle(input: { route: string; body: Record<string, unknown>; signal: AbortSignal }): Promise<unknown>;
} {
  return {
    prefix: STORAGE_ROUTE_PREFIX,
    async handle({ route, body, signal }) {
      if (!(STORAGE_OPERATIONS as readonly string[]).includes(route)) {
        throw new NotFoundError(
          `no storage endpoint ${JSON.stringify(route.slice(0, 64))}; POST ${STORAGE_ROUTE_PREFIX}<operation> with one of ${STORAGE_OPERATIONS.join(', ')}`,
          { details: { resource: 'route' } },
        );
      }
      return connection.call(route as StorageOperation, body as never, signal);
    },
  };
}
