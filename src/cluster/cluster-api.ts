/**
 * The cluster as its users see it: deploy, undeploy, inspect and call named model instances.
 *
 * Implemented in-process by the `Head` and remotely by `HeadClient` (admin HTTP API); a NATS client
 * will implement it too. The client library, the OpenAI-compatible server and the CLI program against
 * this interface only, so they work the same on one laptop and across a cluster.
 */
import type {
  CallOptions,
  ChatRequest,
  DeploymentSpecInput,
  LoadBalanceStrategy,
  ModelMeta,
  OpenAIPassThroughV1,
  StreamPart,
} from '../core/index.js';
import type { NodeResources } from './resources.js';
import type { WorkerCallKind, WorkerCallMap } from './transport/transport.js';
import type { DeploymentStat } from './worker-pool.js';

export type DeploymentState = 'starting' | 'running' | 'failed';

export interface WorkerInfo {
  index: number;
  id: string;
  node: string;
  pid?: number;
  gpuIndices: number[];
}

/** A deployment as listed: its spec with secrets masked, its state and its workers. */
export interface DeploymentInfo {
  name: string;
  pretrainedModelType: string;
  inferBackend: string;
  modelPath: string;
  numWorkers: number;
  workerConcurrency: number;
  cpusPerWorker: number;
  gpusPerWorker: number;
  loadBalance: LoadBalanceStrategy;
  /** Secret values are replaced by `******`. */
  inferParams: Record<string, string>;
  /** Defaults for chat requests that leave a field unset (see `DeploymentSpec.generationDefaults`). */
  generationDefaults: Record<string, string>;
  /** The chat template clients use unless they set one. */
  template: string;
  state: DeploymentState;
  /** Why the deployment is `failed`. */
  error?: string;
  /** When this head started the deployment (ISO 8601); absent from heads older than this field. */
  startedAt?: string;
  workers: WorkerInfo[];
}

export interface DeployOutcome {
  /**
   * `already_deployed` means a deployment of that name existed and nothing was changed; when the
   * spec asked for differs from the running one, `warnings` names how (Head.deploy, parse-spec.ts).
   */
  status: 'deployed' | 'already_deployed';
  deployment: DeploymentInfo;
  warnings: string[];
}

export interface ClusterStatus {
  version: string;
  head: { pid: number; address: string; stateDirectory: string; startedAt: string };
  nodes: { id: string; resources: NodeResources; cpusUsed: number; gpuLoad: number[] }[];
  deployments: DeploymentInfo[];
}

export interface ClusterCallOptions extends CallOptions {
  /**
   * Filled in when the name is a route (`createRoutedCluster`): the deployment that answered (or
   * was tried last, after a failure) and how many tries of deployments it took, for the gateway's
   * `x-byzerllm-deployment` / `x-byzerllm-attempts` and the price a key is charged. A plain
   * deployment name leaves it as it was.
   */
  route?: { attempts: number; deployment: string };
  /**
   * The access ticket of a gateway request admitted under a virtual key (`AccessGate.admit`). The
   * head checks the key's seconds budget when the request takes a worker slot and charges the busy
   * seconds its worker reports when it leaves it (`slot-charge.ts`). Carried over the admin API and
   * NATS; ignored by a head without keys.
   */
  ticket?: string;
}

/** A call's ticket as a wire body's optional field (admin API, NATS). */
export function ticketOf(options: ClusterCallOptions): { ticket?: string } {
  return options.ticket === undefined ? {} : { ticket: options.ticket };
}

export interface ClusterApi {
  deploy(spec: DeploymentSpecInput): Promise<DeployOutcome>;
  /** Removes a deployment and stops its workers. `removed: false` when none had that name. */
  undeploy(name: string, options?: { force?: boolean }): Promise<{ removed: boolean }>;
  list(): Promise<DeploymentInfo[]>;
  stat(name: string): Promise<DeploymentStat>;
  meta(name: string): Promise<ModelMeta>;
  call<Kind extends WorkerCallKind>(
    name: string,
    kind: Kind,
    request: WorkerCallMap[Kind][0],
    options?: ClusterCallOptions,
  ): Promise<WorkerCallMap[Kind][1]>;
  stream(
    name: string,
    request: ChatRequest,
    options?: ClusterCallOptions,
  ): Promise<AsyncIterable<StreamPart>>;
  status(): Promise<ClusterStatus>;
  /**
   * Optional: the OpenAI pass-through (`OpenAIPassThroughV1`) of a deployment, for the
   * OpenAI-compatible gateway. Only an implementation that reaches the engine in-process (the
   * `Head`) offers it, and only for deployments that can take it; undefined means: use
   * `call`/`stream`.
   */
  openAIPassThrough?(name: string): OpenAIPassThroughV1 | undefined;
}
