/**
 * `POST /v1/chat/completions` for a route whose deployments all offer the OpenAI pass-through in
 * this process (`ClusterApi.openAIPassThrough`): the route's tries (`Governance.execute`: retries,
 * timeouts, fallbacks, cooldowns) go to the deployments' pass-through, so a routed request costs
 * what a plain one does, without the `ChatRequest` round trip and the zod check of the answer.
 *
 * Everything a route does on the general path holds (`routed-chat.ts`): the route's name as
 * `model`, `x-byzerllm-deployment` / `x-byzerllm-attempts` (on errors too), a stream answered once
 * its first chunk arrived (a failure before it is a failed try; a target's timeout bounds only that
 * wait), the answering deployment named for the gate (`Exchange.answeredBy`), and the cache: an answer is turned into the `ChatResult` the cache stores (`openai-cached-answer.ts`)
 * after it was sent, and hits are replayed by `routed-chat.ts` as on the general path.
 *
 * A request with a key's ticket carries it on every try (`ClusterCallOptions.ticket`): the head
 * checks it when the try takes its worker slot (`slot-charge.ts`: the target's own rpm/tpm and the
 * key's seconds), so a target at its limit refuses that try with its 429 and the route moves on; a
 * ticketed stream asks the upstream for its usage (the gate charges the key from it), shown only to
 * clients that asked.
 *
 * The engine may change the body it is handed (`OpenAIPassThroughV1`): a route that can try more
 * than once keeps a copy for every later try; one that cannot (`ActiveRoute.triesOnce`) makes none.
 */
import {
  type ActiveRoute,
  type ClusterApi,
  type Governance,
  openFirstPart,
  type RouteProgress,
} from '../cluster/index.js';
import { type OpenAIChatObject, type OpenAIPassThroughV1, WorkerFailedError } from '../core/index.js';
import {
  passThroughOptions,
  pumpPassThroughChunks,
  recordUsage,
  toPassThroughBody,
} from './chat-pass-through.js';
import type { ChatBody } from './chat-request.js';
import { type Exchange, setRouteHeaders } from './exchange.js';
import { ChunkRecorder, cachedAnswerOfCompletion } from './openai-cached-answer.js';
import { routeFailed, sendRoutedAnswer, storeAfterAnswer } from './routed-chat-cache.js';

/** Whether every deployment of `route` offers the pass-through here (one map lookup each). */
export function routeOffersPassThrough(cluster: ClusterApi, route: ActiveRoute): boolean {
  if (!cluster.openAIPassThrough) return false;
  for (const deployment of route.deployments) {
    if (!cluster.openAIPassThrough(deployment)) return false;
  }
  return true;
}

export async function handleRoutedPassThrough(
  exchange: Exchange,
  governance: Governance,
  input: { parsed: ChatBody; route: ActiveRoute; cacheKey: string | undefined },
): Promise<number> {
  const { parsed, route, cacheKey } = input;
  const stream = parsed.stream === true;
  const clientUsage = stream && parsed.stream_options?.include_usage === true;
  const body = toPassThroughBody(parsed);
  // A cached stream stores its usage, a keyed one is charged from it: asked of the upstream for them,
  // shown only to clients that asked.
  const hideUsage = stream && !clientUsage && (cacheKey !== undefined || exchange.ticket !== undefined);
  if (hideUsage) body.stream_options = { include_usage: true };
  const bodyForTry = bodies(body, route.triesOnce);
  const progress: RouteProgress = { attempts: 0, deployment: '' };
  try {
    if (stream) {
      const chunks = await governance.execute(
        route,
        (deployment, signal) =>
          openFirstPart(
            (streamSignal) =>
              passThroughOf(exchange.cluster, deployment).doStreamOpenAI(
                bodyForTry(),
                passThroughOptions(exchange, streamSignal),
              ),
            { clientSignal: exchange.signal, attemptSignal: signal },
          ),
        exchange.signal,
        progress,
      );
      setRouteHeaders(exchange, progress);
      if (cacheKey === undefined) return await pumpPassThroughChunks(exchange, chunks, hideUsage);
      const recorder = new ChunkRecorder(chunks);
      const status = await pumpPassThroughChunks(exchange, recorder, hideUsage);
      const complete = status === 200 && !exchange.signal.aborted && !exchange.response.destroyed;
      const result = complete ? recorder.result() : undefined;
      if (result) storeAfterAnswer(route, cacheKey, result);
      return status;
    }
    const completion = await governance.execute(
      route,
      (deployment, signal) =>
        passThroughOf(exchange.cluster, deployment).doGenerateOpenAI(
          bodyForTry(),
          passThroughOptions(exchange, signal),
        ),
      exchange.signal,
      progress,
    );
    return answerCompletion(exchange, { completion, progress, route, cacheKey });
  } catch (error) {
    routeFailed(exchange, progress, cacheKey !== undefined && !stream);
    throw error;
  }
}

/** A non-stream answer: the route's name as `model`, its headers in the one `writeHead`, then the store. */
function answerCompletion(
  exchange: Exchange,
  input: {
    completion: OpenAIChatObject;
    progress: RouteProgress;
    route: ActiveRoute;
    cacheKey: string | undefined;
  },
): number {
  const { completion, progress, route, cacheKey } = input;
  // Turned into the cache's entry before `model` is the route's: the entry keeps the upstream's.
  const cached = cacheKey === undefined ? undefined : cachedAnswerOfCompletion(completion);
  completion.model = exchange.model;
  recordUsage(exchange, completion.usage);
  sendRoutedAnswer(exchange, progress, completion, cacheKey !== undefined);
  if (cached) storeAfterAnswer(route, cacheKey!, cached);
  return 200;
}

/**
 * The body for each try: the first try is handed `body` itself; when the route may try again, every
 * later try gets a copy of it as it was before the first (the engine changes what it is handed).
 */
function bodies(body: Record<string, unknown>, triesOnce: boolean): () => Record<string, unknown> {
  const pristine = triesOnce ? undefined : structuredClone(body);
  let handedOver = false;
  return () => {
    if (!handedOver) {
      handedOver = true;
      return body;
    }
    return structuredClone(pristine ?? body);
  };
}

/**
 * The pass-through of one deployment of the route. It was there when the request chose this path;
 * one undeployed or restarted since fails this try (retryable: the route moves on).
 */
function passThroughOf(cluster: ClusterApi, deployment: string): OpenAIPassThroughV1 {
  const passThrough = cluster.openAIPassThrough?.(deployment);
  if (!passThrough) {
    throw new WorkerFailedError(`deployment ${deployment} no longer offers the OpenAI pass-through`);
  }
  return passThrough;
}
