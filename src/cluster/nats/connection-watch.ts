/**
 * Follows a NATS connection's state so that nothing waits for a reply that cannot come.
 *
 * Why: while the NATS server restarts, nats.js drops what it had buffered (every reconnect attempt
 * resets its outbound buffer) and replies published meanwhile reach nobody. A request in flight across
 * a disconnection would wait for its whole timeout. So each request, stream consumer and stream
 * producer registers here, and on `disconnect` each one fails at once with `ConnectionLostError`
 * (retryable: the caller sends it again once the connection is back). A request started while
 * disconnected first waits for the reconnect, up to the caller's bound.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { type ByzerLLMError, WorkerFailedError } from '../../core/index.js';
import { timeoutSettingMs } from '../timeout-setting.js';

/**
 * The default bound of a fault: how long a call waits for a lost NATS connection to come back (and
 * for peers to resubscribe after it) before it fails with a retryable error. Overridden by
 * `BYZERLLM_FAULT_TIMEOUT` (seconds).
 */
export const DEFAULT_FAULT_TIMEOUT_MS = 20_000;

/** `BYZERLLM_FAULT_TIMEOUT` (seconds, > 0) or the default; a bad value names itself. */
export function faultTimeoutMs(environment: NodeJS.ProcessEnv = process.env): number {
  return timeoutSettingMs('BYZERLLM_FAULT_TIMEOUT', DEFAULT_FAULT_TIMEOUT_MS, environment);
}

/**
 * How long publishes wait to be confirmed together (`ConnectionWatch.confirm`): long enough that
 * a busy connection sends one PING per many replies, short against a reconnect (which takes at
 * least the server's restart, seconds).
 */
export const CONFIRM_BATCH_MS = 20;

/** The NATS connection dropped (or was down) while a request or stream needed it. Retryable. */
export class ConnectionLostError extends WorkerFailedError {}

export class ConnectionWatch {
  private up = true;
  private lastReconnectAt = 0;
  private readonly failures = new Set<(error: ByzerLLMError) => void>();
  private waiters = new Set<() => void>();
  /** Publishes waiting for the next flush (see `confirm`). */
  private confirmations: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private confirmTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: NatsConnection,
    /** How long publishes wait to be confirmed together. Defaults to `CONFIRM_BATCH_MS`. */
    private readonly confirmBatchMs = CONFIRM_BATCH_MS,
  ) {
    void this.follow();
  }

  /** Whether the connection is up now. */
  get connected(): boolean {
    return this.up && !this.connection.isClosed();
  }

  /** When the connection last came back (0: never dropped). Peers may not have resubscribed yet. */
  get reconnectedAt(): number {
    return this.lastReconnectAt;
  }

  /**
   * Registers a function that ends one piece of work when the connection drops; returns the
   * function that unregisters it (call it when the work ends).
   */
  track(fail: (error: ByzerLLMError) => void): () => void {
    this.failures.add(fail);
    return () => this.failures.delete(fail);
  }

  /** Resolves once connected; rejects with `ConnectionLostError` after `timeoutMs`. */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.connection.isClosed()) return Promise.reject(this.lost('the NATS connection is closed'));
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(this.lost(`the NATS server did not come back within ${timeoutMs / 1000}s`));
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }

  /**
   * Resolves once the server has received everything published before this call; rejects when the
   * connection dropped first, i.e. it may have been lost.
   *
   * One `flush` (a PING the server answers) confirms every publish before it, so the callers of
   * `confirmBatchMs` share one: a flush per reply cost a socket write and a PONG to read per call,
   * more than the rest of a NATS call's own work. Waiting longer loses nothing: a disconnection
   * rejects at once the confirmations not yet flushed (nats.js rejects those in flight), and their
   * owners send again after the reconnect.
   */
  confirm(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.confirmations.push({ resolve, reject });
      if (this.confirmTimer) return;
      this.confirmTimer = setTimeout(() => {
        this.confirmTimer = undefined;
        const waiting = this.confirmations.splice(0);
        this.connection.flush().then(
          () => {
            for (const waiter of waiting) waiter.resolve();
          },
          (error: unknown) => {
            for (const waiter of waiting) waiter.reject(error);
          },
        );
      }, this.confirmBatchMs);
    });
  }

  /**
   * Publishes something that must not be lost to a disconnection (a reply): sent once the connection
   * is up, confirmed by the server, and sent again after a reconnect when the connection dropped
   * before the server had it. The receiver keeps the first copy (a requester ignores later replies).
   */
  publishReliably(publish: () => void, reconnectWaitMs = faultTimeoutMs()): void {
    const attempt = () => {
      publish();
      this.confirm().catch(() => {
        this.whenConnected(reconnectWaitMs).then(attempt, () => {});
      });
    };
    if (this.connected) attempt();
    else this.whenConnected(reconnectWaitMs).then(attempt, () => {});
  }

  private async follow(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect') {
        this.up = false;
        this.failAll('the NATS connection was lost');
      } else if (status.type === 'reconnect') {
        this.up = true;
        this.lastReconnectAt = Date.now();
        for (const wake of [...this.waiters]) wake();
      } else if (status.type === 'close') {
        this.up = false;
        this.failAll('the NATS connection was closed');
      }
    }
  }

  private failAll(reason: string): void {
    const error = this.lost(reason);
    for (const fail of [...this.failures]) fail(error);
    // Published before the drop and not flushed yet: maybe lost, so their owners send again.
    clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    for (const waiter of this.confirmations.splice(0)) waiter.reject(error);
  }

  private lost(reason: string): ConnectionLostError {
    return new ConnectionLostError(`${reason} (${this.connection.getServer()})`);
  }
}

const watches = new WeakMap<NatsConnection, ConnectionWatch>();

/** The one watch of a connection (created on first use). */
export function watchConnection(connection: NatsConnection): ConnectionWatch {
  let watch = watches.get(connection);
  if (!watch) {
    watch = new ConnectionWatch(connection);
    watches.set(connection, watch);
  }
  return watch;
}
