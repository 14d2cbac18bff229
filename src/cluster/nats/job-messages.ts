/**
 * Training jobs on NATS nodes: the runner a node is given, and the zod schema of every job message.
 *
 * The cluster layer does not know how a job trains (that is src/train, above it): the CLI injects a
 * `TrainingJobRunner` into node agents, as the SQL layer's trainer is injected. Records and progress
 * events are JSON objects the runner defines; the cluster reads only `name`, `status` and `reason`.
 *
 * Subjects (signed with the cluster key when there is one):
 * - `byzerllm.node.<nodeId>.job-start`  head → node: start a job (options as the runner takes them)
 * - `byzerllm.node.<nodeId>.job-stop`   head → node: stop a job
 * - `byzerllm.node.<nodeId>.job-resume` head → node: start a failed or stopped job again
 * - `byzerllm.node.<nodeId>.job-remove` head → node: delete a job's folder
 * - `byzerllm.node.<nodeId>.job-read`   head → node: a job's record and events from an index (a
 *   restarted head catches up with what was sent while it was down)
 * - `byzerllm.jobs.progress`            node → head: a job's record and its new progress events
 * - `byzerllm.admin.jobs-<operation>`   client → head: start, list, show, logs, stop, resume, rm
 */
import { z } from 'zod';
import { SUBJECT_PREFIX } from './nats-protocol.js';

const jsonObjectSchema = z.record(z.string(), z.unknown());
const jobNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/);

/** What the cluster reads of a job record; every other field passes through untouched. */
export const jobRecordSchema = z.looseObject({
  name: jobNameSchema,
  status: z.string().min(1).max(32),
  reason: z.string().optional(),
  workerPids: z.array(z.number().int()).optional(),
  /** The worker whose end failed the job: `signal` set when it was killed from outside. */
  failure: z.looseObject({ signal: z.string().nullable().optional() }).optional(),
});
export type ClusterJobRecord = z.infer<typeof jobRecordSchema>;
export type JobProgressEvent = Record<string, unknown>;

/** One node's share of a job, as `jobs show --address` lists it. */
export interface JobNodeSummary {
  node: string;
  /** The global ranks of its workers, first and last. */
  ranks: [number, number];
  status: string;
  reason?: string;
  workerPids: number[];
}

/**
 * A record as the head reports it: the record of the node holding rank 0 (its progress, outputs),
 * `node` naming that node, and every node's share in `nodes`. For a job on several nodes, `status`
 * and `reason` are the whole job's and `workerPids` lists the workers of every node.
 */
export type PlacedJobRecord = ClusterJobRecord & { node: string; nodes?: JobNodeSummary[] };

/** Where the ranks of a job spread over nodes meet: rank 0's node's address and port. */
export const rendezvousSchema = z.object({
  masterAddress: z.string().min(1).max(255),
  masterPort: z.number().int().min(1).max(65_535),
});
export type Rendezvous = z.infer<typeof rendezvousSchema>;

/** Rank 0's node answers its start (and resume) with the rendezvous it picked (in its record's options). */
export const rendezvousReplySchema = z.looseObject({
  options: z.looseObject({ distributed: z.looseObject(rendezvousSchema.shape) }),
});

/** Statuses after which a job changes no more (the runner's others all count as active). */
export const FINISHED_JOB_STATUSES: readonly string[] = ['succeeded', 'failed', 'stopped'];

/** Runs training jobs on one machine; given to a node agent by the CLI. */
export interface TrainingJobRunner {
  /** Validates the options, starts the job detached and resolves to its record. */
  start(options: Record<string, unknown>): Promise<ClusterJobRecord>;
  /** Stops an active job and resolves once it is no longer active. */
  stop(name: string): Promise<ClusterJobRecord>;
  /** The job's record and its progress events from index `from` on. */
  read(name: string, from: number): Promise<{ record: ClusterJobRecord; events: JobProgressEvent[] }>;
  /**
   * Starts a failed or stopped job again from its newest checkpoint; resolves to its record. A
   * share of a spread job other than rank 0's is given rank 0's new `rendezvous`; rank 0's node
   * picks one and answers it in its record, as at the start.
   */
  resume(name: string, rendezvous?: Rendezvous): Promise<ClusterJobRecord>;
  /** Deletes the job's folder; an active job needs `force`, which stops it first. */
  remove(name: string, force: boolean): Promise<void>;
}

export const jobSubjects = {
  nodeJobStart: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.job-start`,
  nodeJobStop: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.job-stop`,
  nodeJobResume: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.job-resume`,
  nodeJobRemove: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.job-remove`,
  nodeJobRead: (nodeId: string) => `${SUBJECT_PREFIX}.node.${nodeId}.job-read`,
  progress: `${SUBJECT_PREFIX}.jobs.progress`,
};

/** Head → node: start a job; `options.name` is set (the head names it to place it). */
export const startJobMessageSchema = z.object({
  options: jsonObjectSchema.and(z.object({ name: jobNameSchema })),
});
export const stopJobMessageSchema = z.object({ name: jobNameSchema });
/**
 * Head → node: resume a job; the node reports its events from `from` on (what the head has). A
 * share of a spread job other than rank 0's gets the rendezvous rank 0's node picked for this run.
 */
export const resumeJobMessageSchema = z.object({
  name: jobNameSchema,
  from: z.number().int().nonnegative(),
  rendezvous: rendezvousSchema.optional(),
});
export const removeJobMessageSchema = z.object({ name: jobNameSchema, force: z.boolean() });
/**
 * Head → node: the job's record and its events from `from` on. The node also follows the job again
 * while it is active (its agent may have restarted with the head and forgotten it).
 */
export const readJobMessageSchema = z.object({ name: jobNameSchema, from: z.number().int().nonnegative() });
/** At most this many events per `job-read` answer, to stay under NATS's max_payload. */
export const READ_JOB_EVENTS_LIMIT = 1_000;
/** Node → head: the answer to `job-read`; `total` is how many events the node has in all. */
export const readJobReplySchema = z.object({
  record: jobRecordSchema,
  events: z.array(jsonObjectSchema).max(READ_JOB_EVENTS_LIMIT),
  total: z.number().int().nonnegative(),
});
export type ReadJobReply = z.infer<typeof readJobReplySchema>;

/** Node → head: the job's record and the events from index `from` (the node's count so far). */
export const jobProgressMessageSchema = z.object({
  nodeId: z.string().min(1).max(128),
  record: jobRecordSchema,
  from: z.number().int().nonnegative(),
  events: z.array(jsonObjectSchema).max(10_000),
});
export type JobProgressMessage = z.infer<typeof jobProgressMessageSchema>;

/** What the head needs of a job's options to place it; the node's runner validates the rest. */
export const jobPlacementOptionsSchema = z.looseObject({
  name: jobNameSchema.optional(),
  kind: z.string().regex(/^[a-z]{1,32}$/),
  numWorkers: z.number().int().min(1).max(1024).default(1),
  cpusPerWorker: z.number().int().min(1).max(1024).default(1),
  gpusPerWorker: z.number().int().min(0).max(64).default(0),
  nodes: z.number().int().min(1).max(1024).optional(),
});

/** Client → head: one schema per jobs operation. */
export const jobAdminSchemas = {
  'jobs-start': z.object({ options: jsonObjectSchema }),
  'jobs-list': z.object({}).passthrough(),
  'jobs-show': z.object({ name: jobNameSchema }),
  'jobs-logs': z.object({ name: jobNameSchema, from: z.number().int().nonnegative().optional() }),
  'jobs-stop': z.object({ name: jobNameSchema }),
  'jobs-resume': z.object({ name: jobNameSchema }),
  'jobs-rm': z.object({ name: jobNameSchema, force: z.boolean().default(false) }),
} as const;
export type JobAdminOperation = keyof typeof jobAdminSchemas;
