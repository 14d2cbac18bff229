/**
 * The Storage page's API: `GET /console/api/storage/clusters`, and `POST
 * /console/api/storage/<operation>` for the read-only operations (`listTables`, `describeTable`,
 * `query`), carried to the head's store as they are; the store checks each body with its schema.
 */
import type { Hono } from 'hono';
import { NotFoundError, UnsupportedError } from '../../core/index.js';
import {
  CONSOLE_STORAGE_OPERATIONS,
  type ConsoleStorage,
  type ConsoleStorageOperation,
} from './console-features.js';

export function mountStorageRoutes(app: Hono, storage: ConsoleStorage | undefined): void {
  const available = (): ConsoleStorage => {
    if (!storage) throw new UnsupportedError('this console was started without Byzer storage');
    return storage;
  };
  app.get('/console/api/storage/clusters', async (context) =>
    context.json({ clusters: await available().clusters() }),
  );
  app.post('/console/api/storage/:operation', async (context) => {
    const operation = context.req.param('operation');
    if (!(CONSOLE_STORAGE_OPERATIONS as readonly string[]).includes(operation)) {
      throw new NotFoundError(
        `the console reads storage only: ${CONSOLE_STORAGE_OPERATIONS.join(', ')}; ${operation} is not one`,
      );
    }
    const body = await context.req.json().catch(() => null);
    return context.json(
      (await available().call(operation as ConsoleStorageOperation, body, context.req.raw.signal)) as object,
    );
  });
}
