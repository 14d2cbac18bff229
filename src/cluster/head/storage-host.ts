/**
 * Storage hosting: how the head carries Byzer storage requests to the store that lives in its
 * process (`$BYZERLLM_HOME/storage`, LanceDB).
 *
 * Like `GatewayHost`, the cluster layer only defines the interface and carries the requests: the
 * head process (`src/cli/head-main.ts`, the top layer) implements it with the `StorageService` of
 * `src/storage`. The admin API answers `POST /admin/v1/storage/<operation>` through it, and
 * `HeadClient.storage` sends there, so `ByzerStorage` in any process reaches the head's store.
 * Bodies are JSON and validated by the storage layer for each operation.
 */
export interface StorageHost {
  /** The operations the store answers; over NATS each is its own endpoint (`byzerllm.storage.<operation>`). */
  readonly operations: readonly string[];
  call(operation: string, body: unknown, signal?: AbortSignal): Promise<unknown>;
}
