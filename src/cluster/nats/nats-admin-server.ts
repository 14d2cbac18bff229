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
import { type ChatRequest, type DeploymentSpecInput, PACKAGE_VERSION } from '../../core/index.js';
import type { ClusterApi } from '../cluster-api.js';
import type { WorkerCallKind } from '../transport/transport.js';
import { watchConnection } from './connection-watch.js';
import {
  ADMIN_OPERATIONS,
  type AdminOperation,
  adminMessageSchemas,
  dropInvalid,
  parseWire,
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

interface HandlerContext {
  connection: NatsConnection;
  cluster: ClusterApi;
  cancellations: CancellationRegistry;
  log: (line: string) => void;
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
    cluster.call(body.name, body.kind as WorkerCallKind, body.request as never, { signal }),
};

/** Request ids of the body, for cancellation (`call` and `stream` carry one). */
function requestIdOf(body: object): string | undefined {
  return 'requestId' in body && typeof body.requestId === 'string' ? body.requestId : undefined;
}

function handle(context: HandlerContext, operation: AdminOperation, message: ServiceMsg): void {
  const { cluster, cancellations } = context;
  // A reply lost to a short disconnection of the head would leave the client waiting: sent again.
  const respond = (reply: Reply<unknown>) => {
    const data = encode(reply);
    watchConnection(context.connection).publishReliably(() => message.respond(data));
  };
  const parsed = parseWire<object>(adminMessageSchemas[operation], message.data);
  if (!parsed.ok) {
    dropInvalid(message, parsed.reason, context.log);
    return;
  }
  const requestId = requestIdOf(parsed.value);
  const controller = requestId ? cancellations.begin(requestId) : new AbortController();
  const finish = () => requestId && cancellations.end(requestId);
  if (operation === 'stream') {
    const body = parsed.value as Body<'stream'>;
    void pumpStream(
      context.connection,
      body,
      controller.signal,
      () => cluster.stream(body.name, body.request as unknown as ChatRequest, { signal: controller.signal }),
      respond,
    ).finally(finish);
    return;
  }
  const run = RUNS[operation] as Run<typeof operation>;
  Promise.resolve()
    .then(() => run(cluster, parsed.value as never, controller.signal))
    .then(
      (result) => respond({ ok: true, result }),
      (error: unknown) => respond(failureReply(error)),
    )
    .finally(finish);
}
