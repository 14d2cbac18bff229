/**
 * Routes by name for every caller of a `ClusterApi`: the one place a name is resolved to a route.
 *
 * `createRoutedCluster(cluster, governance)` is the cluster as callers see it in the head process:
 * `call`, `stream` and `meta` of a name that is a route run through the route (`Governance.execute`:
 * retries, timeouts, fallbacks, cooldowns) onto the deployments it names; every other name, and
 * every other operation, goes straight to `cluster`. The admin API (so the TS client's `HeadClient`
 * and SQL through it) and the gateway's endpoints (embeddings, completions, `/v1/responses`,
 * `/v1/messages`) are given this cluster, so a route works wherever a deployment name does. A route
 * name has no OpenAI pass-through here (`openAIPassThrough` of a route is undefined): the gateway's
 * chat completions run a route's tries on its deployments' pass-through themselves
 * (`server/routed-pass-through.ts`), every other caller takes `call`/`stream`.
 */
import type { ChatRequest, StreamPart } from '../../core/index.js';
import { type ClusterApi, type ClusterCallOptions, ticketOf } from '../cluster-api.js';
import type { WorkerCallKind, WorkerCallMap } from '../transport/transport.js';
import type { ActiveRoute, Governance } from './governance.js';
import type { RouteProgress } from './route-executor.js';

/** A signal that never aborts, for callers that passed none. */
const NEVER = new AbortController().signal;

/** The routed cluster, which also lists its routes (as `HeadClient.routes` does; SQL reads them). */
export type RoutedCluster = ClusterApi & { routes: { list(): Promise<ActiveRoute[]> } };

export function createRoutedCluster(cluster: ClusterApi, governance: Governance): RoutedCluster {
  const run = <Result>(
    route: ActiveRoute,
    options: ClusterCallOptions,
    attempt: (deployment: string, signal: AbortSignal) => Promise<Result>,
  ): Promise<Result> => {
    const progress: RouteProgress = options.route ?? { attempts: 0, deployment: '' };
    return governance.execute(route, attempt, options.signal ?? NEVER, progress);
  };
  const routed: RoutedCluster = {
    routes: { list: async () => governance.list() },
    deploy: (spec) => cluster.deploy(spec),
    undeploy: (name, options) => cluster.undeploy(name, options),
    list: () => cluster.list(),
    stat: (name) => cluster.stat(name),
    status: () => cluster.status(),
    meta: (name) => routed.call(name, 'meta', {}),
    call<Kind extends WorkerCallKind>(
      name: string,
      kind: Kind,
      request: WorkerCallMap[Kind][0],
      options: ClusterCallOptions = {},
    ): Promise<WorkerCallMap[Kind][1]> {
      const route = governance.route(name);
      if (!route) return kind === 'meta' ? cluster.meta(name) : cluster.call(name, kind, request, options);
      // The key's ticket goes on with each try: the target's worker slot checks and charges its seconds.
      return run(route, options, (deployment, signal) =>
        // The spread last: V8 copies `{ key, ...spread }` fast, `{ ...spread, key }` ~15× slower.
        cluster.call(deployment, kind, request, {
          signal: joinSignals(options.signal, signal),
          ...ticketOf(options),
        }),
      );
    },
    stream(name: string, request: ChatRequest, options: ClusterCallOptions = {}) {
      const route = governance.route(name);
      if (!route) return cluster.stream(name, request, options);
      return run(route, options, (deployment, signal) =>
        openRoutedStream(cluster, {
          deployment,
          request,
          clientSignal: options.signal ?? NEVER,
          attemptSignal: signal,
          ...ticketOf(options),
        }),
      );
    },
  };
  if (cluster.openAIPassThrough) {
    const passThrough = cluster.openAIPassThrough.bind(cluster);
    routed.openAIPassThrough = (name) => (governance.route(name) ? undefined : passThrough(name));
  }
  return routed;
}

function joinSignals(first: AbortSignal | undefined, second: AbortSignal): AbortSignal {
  return first ? AbortSignal.any([first, second]) : second;
}

/**
 * Opens a stream on one deployment of a route and waits for its first part: a stream counts as
 * answered once that part arrived, so a failure before it is a failed try (the route moves on).
 * The stream is cancelled when the client's signal aborts, and when the try's signal (its timeout)
 * fires before the first part; after that only the client can cancel it.
 */
export function openRoutedStream(
  cluster: ClusterApi,
  input: {
    deployment: string;
    request: ChatRequest;
    clientSignal: AbortSignal;
    attemptSignal: AbortSignal;
    /** The gateway request's access ticket (`ClusterCallOptions.ticket`). */
    ticket?: string;
  },
): Promise<AsyncIterable<StreamPart>> {
  return openFirstPart(
    (signal) => cluster.stream(input.deployment, input.request, { signal, ...ticketOf(input) }),
    input,
    (part) => (part.type === 'error' ? part.error : undefined),
  );
}

/**
 * `openRoutedStream` for any stream of one try (`StreamPart`s, or the OpenAI pass-through's chunk
 * batches): `open` is given the signal that cancels it; the returned stream has its first item
 * already received. `errorOf` names a first item that is a failure (thrown, so the try failed).
 */
export async function openFirstPart<Item>(
  open: (signal: AbortSignal) => Promise<AsyncIterable<Item>>,
  signals: { clientSignal: AbortSignal; attemptSignal: AbortSignal },
  errorOf: (item: Item) => unknown = () => undefined,
): Promise<AsyncIterable<Item>> {
  const { clientSignal, attemptSignal } = signals;
  const controller = new AbortController();
  const cancel = () => controller.abort();
  clientSignal.addEventListener('abort', cancel, { once: true });
  attemptSignal.addEventListener('abort', cancel, { once: true });
  const detachClient = () => clientSignal.removeEventListener('abort', cancel);
  try {
    if (attemptSignal.aborted || clientSignal.aborted) cancel();
    const parts = await open(controller.signal);
    const iterator = parts[Symbol.asyncIterator]();
    const first = await iterator.next();
    const error = first.done ? undefined : errorOf(first.value);
    if (error !== undefined) throw error;
    return replay(first, iterator, detachClient);
  } catch (error) {
    detachClient();
    throw error;
  } finally {
    attemptSignal.removeEventListener('abort', cancel);
  }
}

async function* replay<Item>(
  first: IteratorResult<Item>,
  rest: AsyncIterator<Item>,
  done: () => void,
): AsyncIterable<Item> {
  try {
    if (first.done) return;
    yield first.value;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    done();
    await rest.return?.();
  }
}
