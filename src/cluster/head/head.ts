/**
 * The head: the in-process control plane of the embedded default.
 *
 * It owns the deployments of this node (their specs, persisted by `DeploymentStore`, and their running
 * worker pools), checks deploys against the node's resources, and answers calls by routing them to a
 * worker. The admin HTTP API (`admin-api.ts`) exposes it to the CLI and remote clients.
 */
import {
  type ChatRequest,
  type DeploymentSpec,
  type DeploymentSpecInput,
  deploymentSpecSchema,
  InvalidArgumentError,
  type ModelMeta,
  NotFoundError,
  PACKAGE_VERSION,
  PINNABLE_KINDS,
  WorkerFailedError,
  type StreamPart,
  toByzerLLMError,
} from '../../core/index.js';
import { engineRunsInProcess, validateEngineChoice } from '../../engines/index.js';
import type {
  ClusterApi,
  ClusterCallOptions,
  ClusterStatus,
  DeploymentInfo,
  DeployOutcome,
} from '../cluster-api.js';
import { type NodeResources, ResourceLedger } from '../resources.js';
import { RunningDeployment } from '../running-deployment.js';
import type { DeploymentStore } from '../state-store.js';
import type { WorkerCallKind, WorkerCallMap, WorkerTransport } from '../transport/transport.js';
import type { DeploymentStat } from '../worker-pool.js';

export interface HeadOptions {
  store: DeploymentStore;
  transport: WorkerTransport;
  /** Runs local engines' workers (see `engineRunsInProcess`); defaults to `transport`. */
  processTransport?: WorkerTransport;
  resources: NodeResources;
  /** The admin address, once listening; shown by `status`. */
  address?: string;
  log?: (line: string) => void;
}

export class Head implements ClusterApi {
  private readonly deployments = new Map<string, RunningDeployment>();
  private readonly ledger: ResourceLedger;
  private readonly log: (line: string) => void;
  private readonly startedAt = new Date();
  address: string;

  constructor(private readonly options: HeadOptions) {
    this.ledger = new ResourceLedger(options.resources);
    this.log = options.log ?? (() => {});
    this.address = options.address ?? '';
  }

  /** Brings back every persisted deployment. A deployment that fails to start stays listed as failed. */
  async restore(): Promise<void> {
    const { specs, problems } = await this.options.store.load();
    for (const problem of problems) this.log(problem);
    await Promise.all(
      specs.map(async (spec) => {
        try {
          const warnings = await this.startDeployment(spec);
          this.log(`restored deployment ${spec.name}${warnings.length ? ` (${warnings.join('; ')})` : ''}`);
        } catch (error) {
          // Keep it listed (and persisted) as failed: losing a user's deployment is worse than showing an error.
          const failed = new RunningDeployment(spec, []);
          failed.state = 'failed';
          failed.error = toByzerLLMError(error).message;
          this.deployments.set(spec.name, failed);
          this.log(`deployment ${spec.name} failed to start again: ${failed.error}`);
        }
      }),
    );
  }

  async deploy(input: DeploymentSpecInput): Promise<DeployOutcome> {
    const spec = parseSpec(input);
    const existing = this.deployments.get(spec.name);
    if (existing) return { status: 'already_deployed', deployment: existing.info(), warnings: [] };
    validateEngineChoice(spec);
    for (const kind of PINNABLE_KINDS) {
      const index = spec.pinning[kind];
      if (index !== undefined && index >= spec.numWorkers) {
        throw new InvalidArgumentError(
          `pinning ${kind}=${index} points past the last worker (deployment ${spec.name} has workers 0-${spec.numWorkers - 1})`,
        );
      }
    }
    const warnings = await this.startDeployment(spec);
    return { status: 'deployed', deployment: this.deployments.get(spec.name)!.info(), warnings };
  }

  async undeploy(name: string): Promise<{ removed: boolean }> {
    const deployment = this.deployments.get(name);
    if (!deployment) return { removed: false };
    this.deployments.delete(name);
    this.ledger.release(name);
    await this.persist();
    await deployment.stop(new NotFoundError(`deployment ${name} was undeployed`));
    this.log(`undeployed ${name}`);
    return { removed: true };
  }

  async list(): Promise<DeploymentInfo[]> {
    return [...this.deployments.values()].map((deployment) => deployment.info());
  }

  async stat(name: string): Promise<DeploymentStat> {
    return this.running(name).stat();
  }

  async meta(name: string): Promise<ModelMeta> {
    return this.call(name, 'meta', {});
  }

  call<Kind extends WorkerCallKind>(
    name: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: ClusterCallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    try {
      return this.running(name).call(kind, request, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async stream(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions = {},
  ): Promise<AsyncIterable<StreamPart>> {
    return this.running(name).stream(request, options);
  }

  async status(): Promise<ClusterStatus> {
    const usage = this.ledger.usage();
    return {
      version: PACKAGE_VERSION,
      head: {
        pid: process.pid,
        address: this.address,
        stateDirectory: this.options.store.directory,
        startedAt: this.startedAt.toISOString(),
      },
      nodes: [
        { id: 'head', resources: this.options.resources, cpusUsed: usage.cpusUsed, gpuLoad: usage.gpuLoad },
      ],
      deployments: await this.list(),
    };
  }

  /** Stops every worker (the head is shutting down); deployments stay persisted for the next start. */
  async close(): Promise<void> {
    const running = [...this.deployments.values()];
    this.deployments.clear();
    await Promise.allSettled(
      running.map((deployment) => deployment.stop(new Error('the head is shutting down'))),
    );
  }

  /**
   * Reserves resources, registers the deployment (so a second deploy of the name sees it at once),
   * starts its workers and persists it. Returns the engines' warnings.
   */
  private async startDeployment(spec: DeploymentSpec): Promise<string[]> {
    const gpuAssignments = this.ledger.reserve(spec);
    const deployment = new RunningDeployment(spec, gpuAssignments);
    this.deployments.set(spec.name, deployment);
    const warnings = new Set<string>();
    try {
      const transport =
        this.options.processTransport && !engineRunsInProcess(spec)
          ? this.options.processTransport
          : this.options.transport;
      await deployment.start(transport, (message) => warnings.add(message));
    } catch (error) {
      this.deployments.delete(spec.name);
      this.ledger.release(spec.name);
      throw error;
    }
    await this.persist();
    return [...warnings];
  }

  private persist(): Promise<void> {
    return this.options.store.save([...this.deployments.values()].map((deployment) => deployment.spec));
  }

  private running(name: string): RunningDeployment {
    const deployment = this.deployments.get(name);
    if (deployment?.state === 'failed') {
      throw new WorkerFailedError(
        `deployment ${name} failed to start (${deployment.error}); undeploy it and deploy it again`,
        { isRetryable: false },
      );
    }
    if (!deployment) {
      const names = [...this.deployments.keys()];
      throw new NotFoundError(
        `no deployment named ${name}; deployed: ${names.length ? names.join(', ') : '(none)'}`,
        { details: { deployment: name, available: names } },
      );
    }
    return deployment;
  }
}

function parseSpec(input: DeploymentSpecInput): DeploymentSpec {
  const parsed = deploymentSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'spec';
  const value = issue.path.reduce<unknown>(
    (current, key) => (current as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey],
    input,
  );
  throw new InvalidArgumentError(
    `invalid ${field}${value === undefined ? '' : ` ${JSON.stringify(value)}`}: ${issue.message}`,
  );
}
