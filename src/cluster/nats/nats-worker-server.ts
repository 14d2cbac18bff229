/**
 * The node side of the NATS transport: serves one local worker endpoint on its NATS subjects.
 *
 * Calls are answered with `Reply`; streams are accepted with a `Reply`, then every part is published
 * to the caller's inbox, at most `STREAM_WINDOW` ahead of the caller's acknowledgements (flow
 * control). A cancel message aborts the engine call through its AbortSignal.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ChatRequest } from '../../core/index.js';
import type { z } from 'zod';
import type { WorkerCallKind, WorkerEndpoint } from '../transport/transport.js';
import { watchConnection } from './connection-watch.js';
import {
  parseWire,
  streamRequestMessageSchema,
  workerCallMessageSchema,
  subscribeParsed,
} from './nats-messages.js';
import { encode, type Reply, subjects } from './nats-protocol.js';
import { failureReply } from '../wire/index.js';
import { pumpStream } from './nats-streams.js';

/** Cancellation of in-flight work on this node, keyed by request id. */
export class CancellationRegistry {
  private readonly controllers = new Map<string, AbortController>();
  private readonly subscription: Subscription;

  constructor(connection: NatsConnection) {
    this.subscription = connection.subscribe(subjects.cancel('*'), {
      callback: (_error, message) => this.controllers.get(message.subject.split('.').pop()!)?.abort(),
    });
  }

  begin(requestId: string): AbortController {
    const controller = new AbortController();
    this.controllers.set(requestId, controller);
    return controller;
  }

  end(requestId: string): void {
    this.controllers.delete(requestId);
  }

  close(): void {
    this.subscription.unsubscribe();
    for (const controller of this.controllers.values()) controller.abort();
  }
}

export function serveWorkerOverNats(
  connection: NatsConnection,
  endpoint: WorkerEndpoint,
  workerId: string,
  cancellations: CancellationRegistry,
  log: (line: string) => void = () => {},
): { close(): void } {
  const watch = watchConnection(connection);
  // A reply lost to a short disconnection of this node would leave the head waiting: sent again.
  const respond = (message: Msg, reply: Reply<unknown>) => {
    const data = encode(reply);
    if (message.reply) watch.publishReliably(() => message.respond(data));
  };

  const onRequest = <Value>(
    subject: string,
    schema: z.ZodType<Value>,
    handle: (value: Value, message: Msg) => void,
  ) => subscribeParsed(connection, subject, (message) => parseWire(schema, message.data), handle, log);

  const callSubscription = onRequest(
    subjects.workerCall(workerId),
    workerCallMessageSchema,
    (call, message) => {
      const controller = cancellations.begin(call.requestId);
      endpoint
        .call(call.kind as WorkerCallKind, call.request as never, { signal: controller.signal })
        .then(
          (result) => respond(message, { ok: true, result }),
          (error: unknown) => respond(message, failureReply(error)),
        )
        .finally(() => cancellations.end(call.requestId));
    },
  );

  const streamSubscription = onRequest(
    subjects.workerStream(workerId),
    streamRequestMessageSchema,
    (streamRequest, message) => {
      const controller = cancellations.begin(streamRequest.requestId);
      void pumpStream(
        connection,
        streamRequest,
        controller.signal,
        () => endpoint.stream(streamRequest.request as unknown as ChatRequest, { signal: controller.signal }),
        (reply) => respond(message, reply),
      ).finally(() => cancellations.end(streamRequest.requestId));
    },
  );

  return {
    close() {
      callSubscription.unsubscribe();
      streamSubscription.unsubscribe();
    },
  };
}
