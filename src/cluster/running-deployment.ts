/**
 * One deployment while it runs: its spec, its workers' endpoints and the pool that shares them out.
 */
import {
  type CallOptions,
  type ChatRequest,
  type DeploymentSpec,
  maskSecrets,
  NotFoundError,
  type PinnableKind,
  type StreamPart,
  WorkerFailedError,
} from '../core/index.js';
import type { DeploymentInfo, DeploymentState } from './cluster-api.js';
import type {
  WorkerCallKind,
  WorkerCallMap,
  WorkerEndpoint,
  WorkerTransport,
} from './transport/transport.js';
import { type DeploymentStat, WorkerPool } from './worker-pool.js';

/** Which pinning key a call kind uses (the seeds pin embedding, tokenizer, chat template, meta). */
const PIN_KEY_BY_KIND: Partial<Record<WorkerCallKind, PinnableKind>> = { embed: 'embedding', meta: 'meta' };

export class RunningDeployment {
  readonly pool: WorkerPool;
  state: DeploymentState = 'starting';
  error: string | undefined;
  private endpoints: WorkerEndpoint[] = [];

  constructor(
    readonly spec: DeploymentSpec,
    readonly gpuAssignments: number[][],
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
          gpuIndices: this.gpuAssignments[workerIndex] ?? [],
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
    for (const [index, endpoint] of started.entries()) {
      endpoint.onReadyChange?.((ready) => {
        if (this.endpoints[index] === endpoint) this.pool.setReady(index, ready);
      });
    }
    this.state = 'running';
  }

  async call<Kind extends WorkerCallKind>(
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: CallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    // A worker that crashed mid-call (retryable `worker_failed`) is marked not ready by its
    // transport, so the next attempt lands on a healthy worker; non-stream calls are safe to repeat.
    const maxAttempts = this.spec.numWorkers + 2;
    for (let attempt = 1; ; attempt++) {
      const lease = await this.pool.acquire(this.acquireOptions(kind, options));
      try {
        return await this.endpoint(lease.workerIndex).call(kind, request, options);
      } catch (error) {
        const retry =
          error instanceof WorkerFailedError &&
          error.isRetryable &&
          attempt < maxAttempts &&
          !options.signal?.aborted;
        if (!retry) throw error;
      } finally {
        lease.release();
      }
    }
  }

  /** The lease is held until the stream ends, fails or the consumer stops iterating. */
  async stream(request: ChatRequest, options: CallOptions = {}): Promise<AsyncIterable<StreamPart>> {
    const lease = await this.pool.acquire(this.acquireOptions('chat', options));
    let parts: AsyncIterable<StreamPart>;
    try {
      parts = await this.endpoint(lease.workerIndex).stream(request, options);
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
      state: this.state,
      workers: this.endpoints.map((endpoint, index) => ({
        index,
        id: endpoint.id,
        node: endpoint.location.node,
        ...(endpoint.location.pid === undefined ? {} : { pid: endpoint.location.pid }),
        gpuIndices: this.gpuAssignments[index] ?? [],
      })),
    };
    if (this.error !== undefined) info.error = this.error;
    return info;
  }

  async stop(reason: Error): Promise<void> {
    this.pool.close(reason);
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
