/**
 * One deployment while it runs: its spec, its workers' endpoints and the pool that shares them out.
 */
import {
  type CallOptions,
  type ChatRequest,
  type DeploymentSpec,
  loadBalanceOf,
  maskSecrets,
  NotFoundError,
  type OpenAIPassThroughV1,
  type PinnableKind,
  type StreamPart,
  WorkerFailedError,
  withGenerationDefaults,
} from '../core/index.js';
import type { DeploymentInfo, DeploymentState } from './cluster-api.js';
import type { WorkerPlacement } from './placement.js';
import type {
  WorkerCallKind,
  WorkerCallMap,
  WorkerEndpoint,
  WorkerTransport,
} from './transport/transport.js';
import { callOutcome, releaseWhenPartsDone } from './lease-release.js';
import { PooledPassThrough } from './pooled-pass-through.js';
import { affinityKeysOf } from './routing/index.js';
import { type ChargedCallOptions, startOnSlot, usageOf } from './slot-charge.js';
import type { RequestOutcome } from './worker-metrics.js';
import { type DeploymentStat, WorkerPool } from './worker-pool.js';

/** Which pinning key a call kind uses (Byzer-LLM pin embedding, tokenizer, chat template, meta). */
const PIN_KEY_BY_KIND: Partial<Record<WorkerCallKind, PinnableKind>> = {
  embedding: 'embedding',
  meta: 'meta',
  tokenize: 'tokenizer',
  apply_chat_template: 'apply_chat_template',
};

/** How long a worker that failed a call stays out of rotation unless it is replaced sooner. */
const QUARANTINE_MS = 5_000;
/** How long a worker moved to another node may finish its calls in flight before it is stopped. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;

export class RunningDeployment {
  readonly pool: WorkerPool;
  state: DeploymentState = 'starting';
  error: string | undefined;
  /** When this head made the deployment (`byzerllm ps` shows it as "since"). */
  readonly startedAt = new Date().toISOString();
  private endpoints: WorkerEndpoint[] = [];
  /** Calls and streams in flight per endpoint, so that a worker moved elsewhere finishes them first. */
  private readonly inFlight = new Map<WorkerEndpoint, number>();
  private readonly idleWaiters = new Set<() => void>();
  /** Every worker offers the OpenAI pass-through (see `openAIPassThrough`). */
  private passThroughReady = false;
  /** Made once: the gateway asks for it on every request. */
  private readonly passThrough: OpenAIPassThroughV1;

  constructor(
    readonly spec: DeploymentSpec,
    readonly placements: WorkerPlacement[],
  ) {
    this.pool = new WorkerPool({
      deploymentName: spec.name,
      workerCount: spec.numWorkers,
      slotsPerWorker: spec.workerConcurrency,
      strategy: loadBalanceOf(spec),
      queueTimeoutMs: spec.queueTimeoutSeconds * 1000,
    });
    this.passThrough = new PooledPassThrough({
      deploymentName: spec.name,
      pool: this.pool,
      endpoint: (index) => this.endpoint(index),
      startBusy: (endpoint) => this.startBusy(endpoint),
      endBusy: (endpoint) => this.endBusy(endpoint),
    });
  }

  /** Starts every worker in parallel; if one fails, stops the others and rethrows its error. */
  async start(transport: WorkerTransport, warn: (message: string) => void): Promise<void> {
    const results = await Promise.allSettled(
      Array.from({ length: this.spec.numWorkers }, (_, workerIndex) =>
        transport.startWorker({
          spec: this.spec,
          workerIndex,
          gpuIndices: this.placements[workerIndex]?.gpuIndices ?? [],
          ...(this.placements[workerIndex] ? { node: this.placements[workerIndex].node } : {}),
          warn,
        }),
      ),
    );
    const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) {
      await Promise.allSettled(started.map((endpoint) => endpoint.close()));
      throw failure.reason;
    }
    this.endpoints = started;
    for (const [index, endpoint] of started.entries()) this.watchReadiness(index, endpoint);
    this.updatePassThrough();
    this.state = 'running';
  }

  async call<Kind extends WorkerCallKind>(
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: ChargedCallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    // A worker that fails (its process crashed, its node died) is retried on another worker:
    // non-stream calls are safe to send again. Other errors (upstream, validation) surface at once.
    const withDefaults =
      kind === 'chat'
        ? (withGenerationDefaults(
            request as ChatRequest,
            this.spec.generationDefaults,
          ) as WorkerCallMap[Kind][0])
        : request;
    for (let attempt = 1; ; attempt++) {
      const lease = await this.pool.acquire(this.acquireOptions(kind, options, request));
      startOnSlot(options.charge, lease);
      let done: (() => void) | undefined;
      let outcome: RequestOutcome | undefined = { failed: true };
      let result: WorkerCallMap[Kind][1] | undefined;
      try {
        const endpoint = this.endpoint(lease.workerIndex);
        done = this.busy(endpoint);
        result = await endpoint.call(kind, withDefaults, options);
        outcome = callOutcome(kind, result);
        // The deployment's own settings travel with the engine's meta, so every client sees them.
        if (kind === 'meta') {
          return {
            ...(result as WorkerCallMap['meta'][1]),
            deployment_template: this.spec.template,
            generation_defaults: this.spec.generationDefaults,
          } as WorkerCallMap[Kind][1];
        }
        return result;
      } catch (error) {
        if (!this.shouldRetry(error, attempt, options)) throw error;
        this.quarantine(lease.workerIndex);
      } finally {
        done?.();
        options.charge?.finish(usageOf(result));
        lease.release(outcome);
      }
    }
  }

  /** A failed worker (its process or node gone) is worth another worker while attempts remain. */
  private shouldRetry(error: unknown, attempt: number, options: CallOptions): boolean {
    return (
      error instanceof WorkerFailedError &&
      error.isRetryable &&
      attempt < this.spec.numWorkers + 2 &&
      !options.signal?.aborted
    );
  }

  /** Counts work in flight on an endpoint (a retired endpoint closes once it has none). */
  private busy(endpoint: WorkerEndpoint): () => void {
    this.startBusy(endpoint);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.endBusy(endpoint);
    };
  }

  /** `busy` without its once-only closure, for a caller that ends it exactly once itself. */
  private startBusy(endpoint: WorkerEndpoint): void {
    this.inFlight.set(endpoint, (this.inFlight.get(endpoint) ?? 0) + 1);
  }

  private endBusy(endpoint: WorkerEndpoint): void {
    const left = (this.inFlight.get(endpoint) ?? 1) - 1;
    if (left > 0) this.inFlight.set(endpoint, left);
    else this.inFlight.delete(endpoint);
    if (this.idleWaiters.size > 0) for (const wake of [...this.idleWaiters]) wake();
  }

  /** Closes an endpoint once the calls and streams in flight on it ended (at most `timeoutMs`). */
  private async retire(endpoint: WorkerEndpoint, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.has(endpoint) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.idleWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, deadline - Date.now());
        this.idleWaiters.add(wake);
      });
    }
    await endpoint.close();
  }

  /** Follows the readiness a restarting transport reports (a worker process being restarted). */
  private watchReadiness(index: number, endpoint: WorkerEndpoint): void {
    endpoint.onReadyChange?.((ready) => {
      if (this.endpoints[index] === endpoint) this.pool.setReady(index, ready);
    });
  }

  /**
   * Takes a failing worker out of rotation. If nobody replaces it (its node or process was not
   * declared lost: the failure was passing), it comes back after `QUARANTINE_MS`.
   */
  private quarantine(index: number): void {
    const endpoint = this.endpoints[index];
    // Transports that restart their workers report readiness themselves (`onReadyChange`).
    if (!endpoint || endpoint.onReadyChange) return;
    this.pool.setReady(index, false);
    setTimeout(() => {
      if (this.endpoints[index] === endpoint && this.state === 'running') this.pool.setReady(index, true);
    }, QUARANTINE_MS).unref();
  }

  /**
   * Swaps in a new endpoint for a worker, then marks it ready. `drain` (a worker moved while its old
   * node is alive): the old endpoint finishes what it has in flight before it closes; otherwise
   * (its process or node was lost) it is closed at once.
   */
  async replaceWorker(
    index: number,
    endpoint: WorkerEndpoint,
    placement: WorkerPlacement,
    options: { drain?: boolean } = {},
  ): Promise<void> {
    const old = this.endpoints[index];
    this.endpoints[index] = endpoint;
    this.placements[index] = placement;
    this.watchReadiness(index, endpoint);
    this.updatePassThrough();
    this.pool.setReady(index, true);
    if (!old) return;
    // The old worker's node may be gone: closing it must not hold up the replacement.
    void (options.drain ? this.retire(old, DRAIN_TIMEOUT_MS) : old.close()).catch(() => {});
  }

  /** Indices of the workers placed on a node. */
  workersOn(node: string): number[] {
    return this.placements.flatMap((placement, index) => (placement.node === node ? [index] : []));
  }

  /**
   * The lease is held until the stream ends, fails or the consumer stops iterating. A worker that
   * fails before the stream started (its node just died: nobody answers) is retried on another
   * worker, as calls are; once parts flow, a failure is an `error` part (they cannot be replayed).
   */
  async stream(request: ChatRequest, options: ChargedCallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const withDefaults = withGenerationDefaults(request, this.spec.generationDefaults);
    for (let attempt = 1; ; attempt++) {
      const lease = await this.pool.acquire(this.acquireOptions('chat', options, request));
      startOnSlot(options.charge, lease);
      let done: (() => void) | undefined;
      let parts: AsyncIterable<StreamPart>;
      try {
        const endpoint = this.endpoint(lease.workerIndex);
        done = this.busy(endpoint);
        parts = await endpoint.stream(withDefaults, options);
      } catch (error) {
        done?.();
        const retry = this.shouldRetry(error, attempt, options);
        if (retry) this.quarantine(lease.workerIndex);
        lease.release({ failed: true });
        if (!retry) throw error;
        continue;
      }
      return releaseWhenPartsDone(parts, done, lease, options.charge);
    }
  }

  /**
   * The OpenAI pass-through of this deployment (`OpenAIPassThroughV1`), through the same worker
   * pool as `call`/`stream` (slots, queueing, balancing, the lease held while a stream runs).
   * Undefined unless the deployment is running, every worker offers it (in-process OpenAI-shaped
   * engines) and it has no generation defaults, which are defined on `ChatRequest` fields: such
   * deployments, and every other, take `call`/`stream`.
   */
  openAIPassThrough(): OpenAIPassThroughV1 | undefined {
    return this.passThroughReady && this.state === 'running' ? this.passThrough : undefined;
  }

  private updatePassThrough(): void {
    this.passThroughReady =
      Object.keys(this.spec.generationDefaults).length === 0 &&
      this.endpoints.length > 0 &&
      this.endpoints.every((endpoint) => endpoint.openAI !== undefined);
  }

  stat(): DeploymentStat {
    return this.pool.stat();
  }

  info(): DeploymentInfo {
    const { spec } = this;
    const info: DeploymentInfo = {
      name: spec.name,
      pretrainedModelType: spec.pretrainedModelType,
      inferBackend: spec.inferBackend,
      modelPath: spec.modelPath,
      numWorkers: spec.numWorkers,
      workerConcurrency: spec.workerConcurrency,
      cpusPerWorker: spec.cpusPerWorker,
      gpusPerWorker: spec.gpusPerWorker,
      loadBalance: loadBalanceOf(spec),
      inferParams: maskSecrets(spec.inferParams),
      generationDefaults: spec.generationDefaults,
      template: spec.template,
      state: this.state,
      startedAt: this.startedAt,
      workers: this.endpoints.map((endpoint, index) => ({
        index,
        id: endpoint.id,
        node: endpoint.location.node,
        ...(endpoint.location.pid === undefined ? {} : { pid: endpoint.location.pid }),
        gpuIndices: this.placements[index]?.gpuIndices ?? [],
      })),
    };
    if (this.error !== undefined) info.error = this.error;
    return info;
  }

  /**
   * Stops the deployment. Requests still waiting for a slot fail with `reason`; unless `force`, the
   * requests already running finish first (up to `drainTimeoutMs`).
   */
  async stop(reason: Error, options: { force?: boolean; drainTimeoutMs?: number } = {}): Promise<void> {
    this.pool.close(reason);
    if (!options.force) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.pool.whenIdle(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, options.drainTimeoutMs ?? 30_000);
        }),
      ]);
      clearTimeout(timer);
    }
    const endpoints = this.endpoints;
    this.endpoints = [];
    await Promise.allSettled(endpoints.map((endpoint) => endpoint.close()));
  }

  /** Pinning, the caller's signal, and the prompt's prefix keys when the strategy routes on them. */
  private acquireOptions(kind: WorkerCallKind, options: CallOptions, request?: unknown) {
    const pinKey = PIN_KEY_BY_KIND[kind];
    const pinnedIndex = pinKey === undefined ? undefined : this.spec.pinning[pinKey];
    const affine = kind === 'chat' && request !== undefined && this.pool.needsAffinityKeys;
    return {
      ...(pinnedIndex === undefined ? {} : { pinnedIndex }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(affine ? { hint: { affinityKeys: affinityKeysOf((request as ChatRequest).messages) } } : {}),
    };
  }

  private endpoint(index: number): WorkerEndpoint {
    const endpoint = this.endpoints[index];
    if (!endpoint) throw new NotFoundError(`deployment ${this.spec.name} has no running worker ${index}`);
    return endpoint;
  }
}
