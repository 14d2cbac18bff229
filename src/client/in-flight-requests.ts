/**
 * The client's requests in flight by request id, so that `abort(requestId)` (Byzer-LLM's
 * `llm.abort(request_id)`) cancels one: its signal aborts the cluster call, which the transport
 * carries to the worker (an IPC or NATS cancel message) and the engine to its upstream request or
 * generation loop.
 *
 * A request is known by the id the caller gave (`requestId`) and, for streams, also by the id the
 * engine reports in the first part (`meta.request_id`), so either may be aborted.
 */
import { randomUUID } from 'node:crypto';
import { AbortedError } from '../core/index.js';

export interface InFlightRequest {
  /** The caller's id, or a generated one. */
  readonly id: string;
  /** Aborted by `abort(id)` or by the caller's own signal. */
  readonly signal: AbortSignal;
  /** Another id the same request answers to (the engine's request id). */
  alias(id: string): void;
  /** Aborts this request (a stream whose reader stopped early). */
  cancel(): void;
  /** Forgets the request; call when it ended. */
  close(): void;
}

export class InFlightRequests {
  private readonly controllers = new Map<string, AbortController>();

  open(requestId: string | undefined, callerSignal?: AbortSignal): InFlightRequest {
    if (callerSignal?.aborted) throw new AbortedError();
    const id = requestId ?? randomUUID();
    const controller = new AbortController();
    const ids = [id];
    const onAbort = () => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    this.controllers.set(id, controller);
    return {
      id,
      signal: controller.signal,
      alias: (other) => {
        if (other === '' || this.controllers.has(other)) return;
        ids.push(other);
        this.controllers.set(other, controller);
      },
      cancel: () => controller.abort(new AbortedError()),
      close: () => {
        callerSignal?.removeEventListener('abort', onAbort);
        for (const known of ids)
          if (this.controllers.get(known) === controller) this.controllers.delete(known);
      },
    };
  }

  /** Cancels the request known by `requestId`; false when none is in flight. */
  abort(requestId: string): boolean {
    const controller = this.controllers.get(requestId);
    if (!controller) return false;
    controller.abort(new AbortedError(`request ${requestId} aborted by the client`));
    return true;
  }
}
