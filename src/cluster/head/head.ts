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
  type ModelMeta,
  type OpenAIPassThroughV1,
  NotFoundError,
  PACKAGE_VERSION,
  WorkerFailedError,
  type StreamPart,
  toByzerLLMError,
} from '../../core/index.js';
import { validateEngineChoice } from '../../engines/index.js';
import type {
  ClusterApi,
  ClusterCallOptions,
  ClusterStatus,
  DeploymentInfo,
  DeployOutcome,
} from '../cluster-api.js';
import { Placement, type WorkerPlacement } from '../placement.js';
import { checkPinning, parseSpec, specConflict } from './parse-spec.js';
import { type JobPlacementRequest, jobHoldingName, placeTrainingJob } from './job-placement.js';
import type { NodeResources } from '../resources.js';
import { RunningDeployment } from '../running-deployment.js';
import { ChargedPassThroughs, chargedOptions, type TicketCharges } from '../slot-charge.js';
import type {
  WorkerCallKind,
  WorkerCallMap,
  WorkerEndpoint,
  WorkerTransport,
} from '../transport/transport.js';
import type { DeploymentStat } from '../worker-pool.js';

/** Where deployments are persisted: files under the state directory, or JetStream KV. */
export interface DeploymentPersistence {
  /** Shown by `status`. */
  readonly directory: string;
  load(): Promise<{ specs: DeploymentSpec[]; problems: string[] }>;
  save(specs: readonly DeploymentSpec[]): Promise<void>;
}

export interface HeadOptions {
  store: DeploymentPersistence;
  transport: WorkerTransport;
  /** This machine's resources: the head's own node, unless `localNode` is false. */
  resources: NodeResources;
  /** Id of the head's own node. Defaults to `head`. */
  nodeId?: string;
  /** Whether the head's machine runs workers. Defaults to true. */
  localNode?: boolean;
  /** Told after deployments or worker placement changed (a cluster head publishes placement). */
  onChange?: () => void;
  /** The admin address, once listening; shown by `status`. */
  address?: string;
  log?: (line: string) => void;
}

export class Head implements ClusterApi {
  private readonly deployments = new Map<string, RunningDeployment>();
  private readonly placement = new Placement();
  /** Workers whose node was lost and that found no room yet; retried when a node joins. */
  private readonly pendingReplacements: { name: string; index: number }[] = [];
  private readonly log: (line: string) => void;
  private readonly startedAt = new Date();
  address: string;
  /** Virtual keys' charges of gateway tickets on worker slots (`slot-charge.ts`); set by head-main. */
  ticketCharges: TicketCharges | undefined;
  private readonly chargedPassThroughs = new ChargedPassThroughs();

  constructor(private readonly options: HeadOptions) {
    if (options.localNode !== false) this.placement.addNode(options.nodeId ?? 'head', options.resources);
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
    // Byzer-LLM's deploy leaves a deployment of the name as it is: a different spec is only named.
    const conflicts = existing ? specConflict(existing.spec, spec) : [];
    if (existing) return { status: 'already_deployed', deployment: existing.info(), warnings: conflicts };
    validateEngineChoice(spec);
    checkPinning(spec);
    const warnings = await this.startDeployment(spec);
    return { status: 'deployed', deployment: this.deployments.get(spec.name)!.info(), warnings };
  }

  /** Removes a deployment; running requests finish first unless `force` (waiting ones fail). */
  async undeploy(name: string, options: { force?: boolean } = {}): Promise<{ removed: boolean }> {
    const deployment = this.deployments.get(name);
    if (!deployment) return { removed: false };
    this.deployments.delete(name);
    this.placement.release(name);
    await this.persist();
    await deployment.stop(new NotFoundError(`deployment ${name} was undeployed`), {
      force: options.force === true,
    });
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

  async call<Kind extends WorkerCallKind>(
    name: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options: ClusterCallOptions = {},
  ): Promise<WorkerCallMap[Kind][1]> {
    return this.running(name).call(kind, request, chargedOptions(this.ticketCharges, options, name));
  }

  async stream(
    name: string,
    request: ChatRequest,
    options: ClusterCallOptions = {},
  ): Promise<AsyncIterable<StreamPart>> {
    return this.running(name).stream(request, chargedOptions(this.ticketCharges, options, name));
  }

  /**
   * The OpenAI pass-through of a running deployment that offers it (see
   * `RunningDeployment.openAIPassThrough`); undefined otherwise, and for unknown names, which
   * `call`/`stream` then answer with their usual errors. With tickets charged here, a call made
   * with a ticket (`ClusterCallOptions.ticket`) is checked and charged on its slot as `call` is.
   */
  openAIPassThrough(name: string): OpenAIPassThroughV1 | undefined {
    const passThrough = this.deployments.get(name)?.openAIPassThrough();
    const charges = this.ticketCharges;
    if (!passThrough || !charges) return passThrough;
    return this.chargedPassThroughs.of(passThrough, charges, name);
  }

  /** The spec of a running deployment (its prices, for the gateway's virtual keys). */
  specOf(name: string): DeploymentSpec | undefined {
    return this.deployments.get(name)?.spec;
  }

  async status(): Promise<ClusterStatus> {
    return {
      version: PACKAGE_VERSION,
      head: {
        pid: process.pid,
        address: this.address,
        stateDirectory: this.options.store.directory,
        startedAt: this.startedAt.toISOString(),
      },
      nodes: this.placement.nodeIds().map((id) => ({
        id,
        resources: this.placement.resources(id)!,
        ...this.placement.usage(id)!,
      })),
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
    const placements = this.placement.place(spec);
    const deployment = new RunningDeployment(spec, placements);
    this.deployments.set(spec.name, deployment);
    const warnings = new Set<string>();
    try {
      await deployment.start(this.options.transport, (message) => warnings.add(message));
    } catch (error) {
      this.deployments.delete(spec.name);
      this.placement.release(spec.name);
      throw error;
    }
    await this.persist();
    return [...warnings];
  }

  /** A node joined (or came back): it can take workers, including those waiting for room. */
  async nodeJoined(node: string, resources: NodeResources): Promise<void> {
    this.placement.addNode(node, resources);
    this.log(`node ${node} joined (${resources.cpus} CPUs, ${resources.gpus.length} GPUs)`);
    const waiting = this.pendingReplacements.splice(0);
    for (const { name, index } of waiting) await this.replaceWorker(name, index, []);
    // Deployments that could not start (no node had room, e.g. a head restarted before its nodes
    // came back) get another chance now.
    for (const deployment of [...this.deployments.values()]) {
      if (deployment.state !== 'failed') continue;
      this.deployments.delete(deployment.spec.name);
      try {
        await this.startDeployment(deployment.spec);
        this.log(`deployment ${deployment.spec.name} started on the nodes now available`);
      } catch (error) {
        this.deployments.set(deployment.spec.name, deployment);
        deployment.error = toByzerLLMError(error).message;
      }
    }
    await this.rebalance(node);
  }

  /**
   * Moves workers onto a node that joined (or came back) while another node runs at least two more
   * workers of the same deployment than it does — the spread a fresh placement would give. The moved
   * worker starts on the new node first; the old one finishes its calls in flight, then stops.
   */
  private async rebalance(node: string): Promise<void> {
    let moved = false;
    for (const deployment of [...this.deployments.values()]) {
      while (deployment.state === 'running' && this.deployments.get(deployment.spec.name) === deployment) {
        const busiest = busiestNode(deployment, this.placement.nodeIds());
        if (!busiest || busiest.count - deployment.workersOn(node).length <= 1) break;
        if (!(await this.moveWorker(deployment, busiest.indices.at(-1)!, busiest.node, node))) break;
        moved = true;
      }
    }
    if (moved) this.options.onChange?.();
  }

  private async moveWorker(
    deployment: RunningDeployment,
    index: number,
    from: string,
    to: string,
  ): Promise<boolean> {
    const name = deployment.spec.name;
    const placement = this.placement.moveWorker(deployment.spec, index, to);
    if (!placement) return false;
    try {
      const endpoint = await this.startPlacedWorker(deployment.spec, index, placement);
      await deployment.replaceWorker(index, endpoint, placement, { drain: true });
      this.log(`worker ${name}#${index} moved from ${from} to ${to} to spread the deployment`);
      return true;
    } catch (error) {
      // It still runs where it was: take its resources back there.
      this.placement.releaseWorker(name, index);
      this.placement.moveWorker(deployment.spec, index, from);
      this.log(`worker ${name}#${index} stays on ${from}: ${toByzerLLMError(error).message}`);
      return false;
    }
  }

  /** Holds room for a training job's workers: one placement per worker (head/job-placement.ts). */
  placeJob(request: JobPlacementRequest): WorkerPlacement[] {
    return placeTrainingJob(this.placement, jobHoldingName(request.name), request);
  }

  releaseJob(name: string): void {
    this.placement.release(jobHoldingName(name));
  }

  /** A training job's `--deploy`: its GGUF on llama_cpp, pinned to the node that holds the file. */
  deployTrainedModel(request: { name: string; modelPath: string; node: string }): Promise<DeployOutcome> {
    return this.deploy({
      name: request.name,
      pretrainedModelType: 'custom/auto',
      inferBackend: 'llama_cpp',
      modelPath: request.modelPath,
      numWorkers: 1,
      nodes: [request.node],
    });
  }

  /**
   * A node was lost: calls in flight on it fail (non-stream calls are retried on other workers) and
   * its workers are placed again on nodes with room.
   */
  async nodeLost(node: string, reason: string): Promise<void> {
    this.log(`node ${node} lost (${reason}); re-placing its workers`);
    this.options.transport.failNode?.(node, reason);
    const lost = this.placement.removeNode(node);
    for (const [name, indices] of lost) {
      const deployment = this.deployments.get(name);
      for (const index of indices) deployment?.pool.setReady(index, false);
    }
    for (const [name, indices] of lost) {
      for (const index of indices) await this.replaceWorker(name, index, [node]);
    }
    this.options.onChange?.();
  }

  /** Starts a replacement worker where the placement put it (its warnings were heard at deploy). */
  private startPlacedWorker(
    spec: DeploymentSpec,
    index: number,
    placement: WorkerPlacement,
  ): Promise<WorkerEndpoint> {
    return this.options.transport.startWorker({
      spec,
      workerIndex: index,
      gpuIndices: placement.gpuIndices,
      node: placement.node,
      warn: () => {},
    });
  }

  private async replaceWorker(name: string, index: number, excludeNodes: string[]): Promise<void> {
    const deployment = this.deployments.get(name);
    if (!deployment) return;
    try {
      const placement = this.placement.placeWorker(deployment.spec, index, excludeNodes);
      try {
        const endpoint = await this.startPlacedWorker(deployment.spec, index, placement);
        await deployment.replaceWorker(index, endpoint, placement);
        this.log(`worker ${name}#${index} now runs on ${placement.node}`);
        this.options.onChange?.();
      } catch (error) {
        this.placement.releaseWorker(name, index);
        throw error;
      }
    } catch (error) {
      this.pendingReplacements.push({ name, index });
      this.log(`worker ${name}#${index} waits for a node with room: ${toByzerLLMError(error).message}`);
    }
  }

  private async persist(): Promise<void> {
    await this.options.store.save([...this.deployments.values()].map((deployment) => deployment.spec));
    this.options.onChange?.();
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

/** The node running the most workers of a deployment (among `nodes`), with those workers' indices. */
function busiestNode(
  deployment: RunningDeployment,
  nodes: readonly string[],
): { node: string; count: number; indices: number[] } | undefined {
  let busiest: { node: string; count: number; indices: number[] } | undefined;
  for (const node of nodes) {
    const indices = deployment.workersOn(node);
    if (!busiest || indices.length > busiest.count) busiest = { node, count: indices.length, indices };
  }
  return busiest;
}
