/**
 * What the head keeps of one training job, and what the modules of its job registry (head-jobs.ts,
 * head-job-recovery.ts, head-job-control.ts) need of each other: the registry implements
 * `JobRegistry`; the other two take it, so none of them imports the class.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Service } from '@nats-io/services';
import type { DeploymentInfo } from '../cluster-api.js';
import type { JobPlacementRequest } from '../head/job-placement.js';
import type { WorkerPlacement } from '../placement.js';
import type { ClusterKey } from './cluster-key.js';
import type { HeadJobStore, StoredJob } from './head-job-store.js';
import type { ClusterJobRecord, JobProgressEvent, PlacedJobRecord } from './job-messages.js';
import type { JobPart } from './job-parts.js';

/** What the head's job registry needs of the head: room on nodes, from the deployments' ledger. */
export interface JobPlacer {
  /** One placement per worker (all on one node when they fit there; `pinned` keeps each part's node). */
  placeJob(request: JobPlacementRequest): WorkerPlacement[];
  releaseJob(name: string): void;
  /** Deploys a job's GGUF on llama_cpp, on the node holding the file (`--deploy`). */
  deployTrainedModel(request: { name: string; modelPath: string; node: string }): Promise<unknown>;
  /** The deployments the head holds (a `--deploy` checks for its own before deploying). */
  list(): Promise<DeploymentInfo[]>;
}

/**
 * The jobs a head placed on nodes, read only (the web console's Jobs page): what `jobs list|logs
 * --address` answer. The head's registry is one (in its own process, no NATS round trip); a NATS
 * client can be another, over the same admin operations.
 */
export interface PlacedJobsView {
  /** Every job's record, as `jobs list --address` gives it (`node` names the node of rank 0). */
  list(): Promise<PlacedJobRecord[]>;
  /**
   * The job's events (rank 0's progress events, and the head's own with `source: "head"`) from
   * index `from`; `undefined` for a job the head does not hold.
   */
  events(name: string, from?: number): Promise<JobProgressEvent[] | undefined>;
}

export interface HeadJobsOptions {
  connection: NatsConnection;
  service: Service;
  placer: JobPlacer;
  store: HeadJobStore;
  clusterKey?: ClusterKey;
  log: (line: string) => void;
}

/** `--deploy NAME` of a cluster job: done by the head once the job succeeded. */
export interface JobDeployment {
  name: string;
  started: boolean;
  outcome?: { name: string; status: 'deployed' | 'failed'; error?: string };
}

export interface JobEntry {
  /** One per node; part 0 holds rank 0. */
  parts: JobPart[];
  /** The job's record, from its parts (job-parts.ts). */
  record: PlacedJobRecord;
  /** Rank 0's progress events, and the head's own (`source: "head"`). */
  events: JobProgressEvent[];
  /** How many of `events` are on disk already. */
  persistedEvents: number;
  /** Parts finished so far (orders failures). */
  finishedCount: number;
  cpusPerWorker: number;
  gpusPerWorker: number;
  deployment?: JobDeployment;
  /** `jobs stop` calls running: the job's saves wait for the one each makes at its end. */
  stopsRunning?: number;
}

/** Events the head adds itself (a status it decided, a deployment) carry this; the nodes' do not. */
export const HEAD_EVENT_SOURCE = { source: 'head' } as const;

export interface JobRegistry {
  readonly options: HeadJobsOptions;
  readonly jobs: Map<string, JobEntry>;
  /** A signed request on a node's `subject`; resolves to its answer. */
  requestNode(subject: string, payload: unknown, timeoutMs: number): Promise<unknown>;
  /** Takes a part's record and its events from index `from` (those already held are skipped). */
  apply(
    entry: JobEntry,
    part: JobPart,
    record: ClusterJobRecord,
    from: number,
    events: JobProgressEvent[],
  ): void;
  /**
   * Recomputes the job's record from its parts and does what that calls for (stops the other
   * parts of a failing job, deploys a succeeded job's model), then saves it.
   */
  settle(entry: JobEntry): void;
  /** Fails a part as lost (its node is gone or did not answer), failing the job. */
  failPart(entry: JobEntry, part: JobPart, reason: string): void;
  /** Asks a part's node to stop it, takes the record it answers and saves (a node that cannot is logged). */
  stopPart(name: string, part: JobPart): Promise<void>;
  /** Writes the record and the events not yet on disk. */
  persist(entry: JobEntry): Promise<void>;
}

export function storedJob(entry: JobEntry): StoredJob {
  return {
    version: 2,
    cpusPerWorker: entry.cpusPerWorker,
    gpusPerWorker: entry.gpusPerWorker,
    parts: entry.parts.map(({ node, firstRank, workers, record, received, lost }) => ({
      node,
      firstRank,
      workers,
      record,
      received,
      lost,
    })),
    record: entry.record,
    ...(entry.deployment ? { deploy: entry.deployment.name } : {}),
  };
}

/** Each part's node and share, to hold the job's room there again. */
export function pinnedPlacement(entry: JobEntry): JobPlacementRequest {
  return {
    name: entry.record.name,
    numWorkers: entry.parts.reduce((sum, part) => sum + part.workers, 0),
    cpusPerWorker: entry.cpusPerWorker,
    gpusPerWorker: entry.gpusPerWorker,
    pinned: entry.parts.map(({ node, workers }) => ({ node, workers })),
  };
}
