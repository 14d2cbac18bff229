/**
 * The head's `ClusterApi` served over NATS (`byzerllm.admin.<operation>`, queue group `head`), so
 * clients on any machine reach it with `--address nats://…` — the seeds' "connect from outside the
 * cluster".
 */
import { type ServiceMsg, Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  PACKAGE_VERSION,
  type ChatRequest,
  type DeploymentSpecInput,
  InvalidArgumentError,
  toByzerLLMError,
} from '../../core/index.js';
import type { ClusterApi } from '../cluster-api.js';
import type { WorkerCallKind } from '../transport/transport.js';
import { watchConnection } from './connection-watch.js';
import { decode, encode, type Reply, subjects } from './nats-protocol.js';
import { pumpStream, type StreamEnvelope } from './nats-streams.js';
import type { CancellationRegistry } from './nats-worker-server.js';

type AdminMessage = {
  name?: string;
  spec?: DeploymentSpecInput;
  force?: boolean;
  kind?: WorkerCallKind;
  request?: unknown;
  requestId?: string;
  inbox?: string;
};

/** The NATS micro-service name of the head: `nats micro ping|info|stats byzerllm-head` see it. */
export const HEAD_SERVICE_NAME = 'byzerllm-head';

export async function serveClusterOverNats(
  connection: NatsConnection,
  cluster: ClusterApi,
  cancellations: CancellationRegistry,
): Promise<{ close(): Promise<void> }> {
  const watch = watchConnection(connection);
  // A NATS service: discovery (ping/info) and per-endpoint stats come from the services API.
  // @nats-io/services pins its own copy of nats-core; the connection object is the same protocol.
  const service = await new Svcm(connection as never).add({
    name: HEAD_SERVICE_NAME,
    version: PACKAGE_VERSION,
    description: 'byzerllm cluster head: deploy, undeploy, list, stat, meta, call, stream, status',
    queue: 'head',
  });
  service.addEndpoint('admin', {
    subject: subjects.admin('*'),
    queue: 'head',
    handler: (_error: Error | null, message: ServiceMsg) => {
      const operation = message.subject.split('.').pop()!;
      const body = decode<AdminMessage>(message.data);
      // A reply lost to a short disconnection of the head would leave the client waiting: sent again.
      const respond = (reply: Reply<unknown>) => {
        const data = encode(reply);
        watch.publishReliably(() => message.respond(data));
      };
      if (operation === 'stream') {
        const controller = cancellations.begin(body.requestId!);
        void pumpStream(
          connection,
          body as StreamEnvelope,
          controller.signal,
          () => cluster.stream(body.name!, body.request as ChatRequest, { signal: controller.signal }),
          respond,
        ).finally(() => cancellations.end(body.requestId!));
        return;
      }
      const controller = body.requestId ? cancellations.begin(body.requestId) : undefined;
      run(cluster, operation, body, controller?.signal)
        .then(
          (result) => respond({ ok: true, result }),
          (error: unknown) => respond({ ok: false, error: toByzerLLMError(error).toJSON() }),
        )
        .finally(() => body.requestId && cancellations.end(body.requestId));
    },
  });
  return {
    close: async () => {
      await service.stop().catch(() => {});
    },
  };
}

function run(
  cluster: ClusterApi,
  operation: string,
  body: AdminMessage,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  switch (operation) {
    case 'deploy':
      return cluster.deploy(body.spec!);
    case 'undeploy':
      return cluster.undeploy(body.name!, { force: body.force === true });
    case 'list':
      return cluster.list();
    case 'stat':
      return cluster.stat(body.name!);
    case 'meta':
      return cluster.meta(body.name!);
    case 'status':
      return cluster.status();
    case 'call':
      return cluster.call(body.name!, body.kind!, body.request as never, signal ? { signal } : {});
    default:
      return Promise.reject(new InvalidArgumentError(`unknown admin operation ${JSON.stringify(operation)}`));
  }
}
