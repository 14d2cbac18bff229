/**
 * One deployment while it runs: its spec, its workers' endpoints and the pool that shares them out.
 */
import {
  type CallOptions,
  type ChatRequest,
  type DeploymentSpec,
  maskSecrets,
  NotFoundError,
  type OpenAIChatObject,
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
import { type DeploymentStat, WorkerPool } from './worker-pool.js';

/** Which pinning key a call kind uses (Byzer-LLM pin embedding, tokenizer, chat template, meta). */
const PIN_KEY_BY_KIND: Partial<Record<WorkerCallKind, PinnableKind>> = { embed: 'embedding', meta: 'meta' };

/** How long a worker that failed a call stays out of rotation unless it is replaced sooner. */
const QUARANTINE_MS = 5_000;

export class RunningDeployment {
  readonly pool: WorkerPool;
  state: DeploymentState = 'starting';
  error: string | undefined;
  private endpoints: WorkerEndpoint[] = [];
  /** Every worker offers the OpenAI pass-through (see `openAIPassThrough`). */
  private passThroughReady = false;
  /** Made once: the gateway asks for it on every request. */
  private readonly passThrough: OpenAIPassThroughV1 = {
    doGenerateOpenAI: (body, options) => this.generateOpenAI(body, options),
    doStreamOpenAI: (body, options) => this.streamOpenAI(body, options),
  };

  constructor(
    readonly spec: DeploymentSpec,
    readonly placements: WorkerPlacement[],
  ) {
    this.pool = new WorkerPool({
      deploymentName: spec.name,
      workerCount: spec.numWorkers,
      slotsPerWorker: spec.workerConcurrency,
      strategy: spec.loadBalance,
      queueTimeoutMs: spec.queueTimeoutSeconds * 1000,
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
    options: CallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    // A worker that fails (its process crashed, its node died) is retried on another worker:
    // non-stream calls are safe to send again. Other errors (upstream, validation) surface at once.
    const maxAttempts = this.spec.numWorkers + 2;
    const withDefaults =
      kind === 'chat'
        ? (withGenerationDefaults(
            request as ChatRequest,
            this.spec.generationDefaults,
          ) as WorkerCallMap[Kind][0])
        : request;
    for (let attempt = 1; ; attempt++) {
      const lease = await this.pool.acquire(this.acquireOptions(kind, options));
      try {
        const result = await this.endpoint(lease.workerIndex).call(kind, withDefaults, options);
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
        const retry =
          error instanceof WorkerFailedError &&
          error.isRetryable &&
          attempt < maxAttempts &&
          !options.signal?.aborted;
        if (!retry) throw error;
        this.quarantine(lease.workerIndex);
      } finally {
        lease.release();
      }
    }
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

  /** Swaps in a new endpoint for a worker whose process or node was lost, then marks it ready. */
  async replaceWorker(index: number, endpoint: WorkerEndpoint, placement: WorkerPlacement): Promise<void> {
    const old = this.endpoints[index];
    this.endpoints[index] = endpoint;
    this.placements[index] = placement;
    this.watchReadiness(index, endpoint);
    this.updatePassThrough();
    this.pool.setReady(index, true);
    // The old worker's node may be gone: closing it must not hold up the replacement.
    void old?.close().catch(() => {});
  }

  /** Indices of the workers placed on a node. */
  workersOn(node: string): number[] {
    return this.placements.flatMap((placement, index) => (placement.node === node ? [index] : []));
  }

  /** The lease is held until the stream ends, fails or the consumer stops iterating. */
  async stream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const lease = await this.pool.acquire(this.acquireOptions('chat', options));
    let parts: AsyncIterable<StreamPart>;
    try {
      parts = await this.endpoint(lease.workerIndex).stream(
        withGenerationDefaults(request, this.spec.generationDefaults),
        options,
      );
    } catch (error) {
      lease.release();
      throw error;
    }
    return (async function* releaseWhenDone() {
      try {
        yield* parts;
      } finally {
        lease.release();
      }
    })();
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

  private async generateOpenAI(
    body: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<OpenAIChatObject> {
    const lease = await this.pool.acquire(this.acquireOptions('chat', options));
    try {
      return await this.openAIOf(lease.workerIndex).doGenerateOpenAI(body, options);
    } finally {
      lease.release();
    }
  }

  /** The lease is held until the stream ends, fails or the consumer stops iterating. */
  private async streamOpenAI(
    body: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<AsyncIterable<OpenAIChatObject[]>> {
    const lease = await this.pool.acquire(this.acquireOptions('chat', options));
    let chunks: AsyncIterable<OpenAIChatObject[]>;
    try {
      chunks = await this.openAIOf(lease.workerIndex).doStreamOpenAI(body, options);
    } catch (error) {
      lease.release();
      throw error;
    }
    return (async function* releaseWhenDone() {
      try {
        yield* chunks;
      } finally {
        lease.release();
      }
    })();
  }

  private openAIOf(index: number): OpenAIPassThroughV1 {
    const passThrough = this.endpoint(index).openAI;
    // Only reachable if a worker were replaced by one without it between the check and the call.
    if (!passThrough)
      throw new WorkerFailedError(`worker ${index} of ${this.spec.name} has no OpenAI pass-through`);
    return passThrough;
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
      loadBalance: spec.loadBalance,
      inferParams: maskSecrets(spec.inferParams),
      generationDefaults: spec.generationDefaults,
      template: spec.template,
      state: this.state,
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

  private acquireOptions(kind: WorkerCallKind, options: CallOptions) {
    const pinKey = PIN_KEY_BY_KIND[kind];
    const pinnedIndex = pinKey === undefined ? undefined : this.spec.pinning[pinKey];
    return {
      ...(pinnedIndex === undefined ? {} : { pinnedIndex }),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  private endpoint(index: number): WorkerEndpoint {
    const endpoint = this.endpoints[index];
    if (!endpoint) throw new NotFoundError(`deployment ${this.spec.name} has no running worker ${index}`);
    return endpoint;
  }
}
