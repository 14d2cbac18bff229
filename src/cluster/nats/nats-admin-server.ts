/**
 * The head's `ClusterApi` served over NATS, so clients on any machine reach it with
 * `--address nats://…` — Byzer-LLM's "connect from outside the cluster".
 *
 * One NATS service endpoint per operation (`byzerllm.admin.deploy`, `…list`, …, queue group `head`),
 * as nats.js services do, each with its schema (nats-messages.ts): no wildcard endpoint shares a
 * queue group with a specific one (that answered node registrations with "unknown operation"), and
 * NATS permissions can grant operations one by one (a query-only client may `call` but not `deploy`).
 */
import { type Service, type ServiceMsg, Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import {
  type ChatRequest,
  type DeploymentSpecInput,
  InvalidArgumentError,
  PACKAGE_VERSION,
} from '../../core/index.js';
import { type ClusterApi, ticketOf } from '../cluster-api.js';
import type { StorageHost } from '../head/storage-host.js';
import type { WorkerCallKind } from '../transport/transport.js';
import { watchConnection } from './connection-watch.js';
import {
  ADMIN_OPERATIONS,
  type AdminOperation,
  adminMessageSchemas,
  dropInvalid,
  parseWire,
  STORAGE_OPERATION_PATTERN,
  storageMessageSchema,
} from './nats-messages.js';
import { encode, type Reply, subjects } from './nats-protocol.js';
import { failureReply } from '../wire/index.js';
import { pumpStream } from './nats-streams.js';
import type { CancellationRegistry } from './nats-worker-server.js';

/** The NATS micro-service name of the head: `nats micro ping|info|stats byzerllm-head` see it. */
export const HEAD_SERVICE_NAME = 'byzerllm-head';
export const HEAD_QUEUE = 'head';

/** The head's NATS service; endpoints are added to it (registration first, the API once restored). */
export async function createHeadService(connection: NatsConnection): Promise<Service> {
  // @nats-io/services pins its own copy of nats-core; the connection object is the same protocol.
  return new Svcm(connection as never).add({
    name: HEAD_SERVICE_NAME,
    version: PACKAGE_VERSION,
    description: 'byzerllm cluster head: deploy, undeploy, list, stat, meta, call, stream, status, register',
    queue: HEAD_QUEUE,
  });
}

export interface ServeClusterOptions {
  /** The service to add the endpoints to. Defaults to a new head service. */
  service?: Service;
  log?: (line: string) => void;
}

export async function serveClusterOverNats(
  connection: NatsConnection,
  cluster: ClusterApi,
  cancellations: CancellationRegistry,
  options: ServeClusterOptions = {},
): Promise<{ close(): Promise<void> }> {
  const service = options.service ?? (await createHeadService(connection));
  const log = options.log ?? (() => {});
  for (const operation of ADMIN_OPERATIONS) {
    service.addEndpoint(operation, {
      subject: subjects.admin(operation),
      queue: HEAD_QUEUE,
      handler: (_error: Error | null, message: ServiceMsg) =>
        handle({ connection, cluster, cancellations, log }, operation, message),
    });
  }
  return {
    close: async () => {
      await service.stop().catch(() => {});
    },
  };
}

/** What answering a request needs. */
interface ReplyContext {
  connection: NatsConnection;
  cancellations: CancellationRegistry;
  log: (line: string) => void;
}

interface HandlerContext extends ReplyContext {
  cluster: ClusterApi;
}

type Body<Operation extends AdminOperation> = z.infer<(typeof adminMessageSchemas)[Operation]>;
type Run<Operation extends AdminOperation> = (
  cluster: ClusterApi,
  body: Body<Operation>,
  signal: AbortSignal,
) => Promise<unknown>;

/** What each request/reply operation does with its parsed body (`stream` is separate). */
const RUNS: { [Operation in Exclude<AdminOperation, 'stream'>]: Run<Operation> } = {
  deploy: (cluster, body) => cluster.deploy(body.spec as unknown as DeploymentSpecInput),
  undeploy: (cluster, body) => cluster.undeploy(body.name, { force: body.force === true }),
  list: (cluster) => cluster.list(),
  stat: (cluster, body) => cluster.stat(body.name),
  meta: (cluster, body) => cluster.meta(body.name),
  status: (cluster) => cluster.status(),
  call: (cluster, body, signal) =>
    cluster.call(body.name, body.kind as WorkerCallKind, body.request as never, {
      signal,
      ...ticketOf(body),
    }),
};

/** Request ids of the body, for cancellation (`call` and `stream` carry one). */
function requestIdOf(body: object): string | undefined {
  return 'requestId' in body && typeof body.requestId === 'string' ? body.requestId : undefined;
}

function handle(context: HandlerContext, operation: AdminOperation, message: ServiceMsg): void {
  const { cluster } = context;
  if (operation !== 'stream') {
    const run = RUNS[operation] as Run<typeof operation>;
    answer(context, message, adminMessageSchemas[operation], (body, signal) =>
      run(cluster, body as never, signal),
    );
    return;
  }
  const parsed = parseWire<Body<'stream'>>(adminMessageSchemas.stream, message.data);
  if (!parsed.ok) {
    dropInvalid(message, parsed.reason, context.log);
    return;
  }
  const body = parsed.value;
  const requestId = requestIdOf(body);
  const controller = requestId ? context.cancellations.begin(requestId) : new AbortController();
  void pumpStream(
    context.connection,
    body,
    controller.signal,
    () =>
      cluster.stream(body.name, body.request as unknown as ChatRequest, {
        signal: controller.signal,
        ...ticketOf(body),
      }),
    (reply) => respondReliably(context.connection, message, reply),
  ).finally(() => requestId && context.cancellations.end(requestId));
}

// A reply lost to a short disconnection of the head would leave the client waiting: sent again.
export function respondReliably(
  connection: NatsConnection,
  message: ServiceMsg,
  reply: Reply<unknown>,
): void {
  const data = encode(reply);
  watchConnection(connection).publishReliably(() => message.respond(data));
}

/**
 * Parses a request with its schema, runs it (cancellable through `byzerllm.cancel.<requestId>` when
 * the body carries one) and replies with the result or the error; an invalid message is dropped
 * with an `invalid_argument` reply.
 */
function answer<Value extends object>(
  context: ReplyContext,
  message: ServiceMsg,
  schema: z.ZodType<Value>,
  run: (body: Value, signal: AbortSignal) => Promise<unknown>,
): void {
  const parsed = parseWire<Value>(schema, message.data);
  if (!parsed.ok) {
    dropInvalid(message, parsed.reason, context.log);
    return;
  }
  const requestId = requestIdOf(parsed.value);
  const controller = requestId ? context.cancellations.begin(requestId) : new AbortController();
  Promise.resolve()
    .then(() => run(parsed.value, controller.signal))
    .then(
      (result) => respondReliably(context.connection, message, { ok: true, result }),
      (error: unknown) => respondReliably(context.connection, message, failureReply(error)),
    )
    .finally(() => requestId && context.cancellations.end(requestId));
}

/**
 * Serves the head's Byzer store over NATS: one endpoint per storage operation
 * (`byzerllm.storage.<operation>`, queue group `head`), so NATS permissions can grant `query`
 * without `drop`. The store validates each body with the operation's schema.
 */
export function serveStorageOverNats(
  connection: NatsConnection,
  service: Service,
  host: StorageHost,
  cancellations: CancellationRegistry,
  log: (line: string) => void,
): void {
  const context: ReplyContext = { connection, cancellations, log };
  for (const operation of host.operations) {
    if (!STORAGE_OPERATION_PATTERN.test(operation)) {
      throw new InvalidArgumentError(`storage operation ${JSON.stringify(operation)} is not a subject token`);
    }
    service.addEndpoint(`storage-${operation}`, {
      subject: subjects.storage(operation),
      queue: HEAD_QUEUE,
      handler: (_error: Error | null, message: ServiceMsg) =>
        answer(context, message, storageMessageSchema, (request, signal) =>
          host.call(operation, request.body, signal),
        ),
    });
  }
}
