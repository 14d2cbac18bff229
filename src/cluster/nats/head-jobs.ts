/**
 * The head's side of training jobs on NATS nodes (`byzerllm finetune|pretrain|jobs … --address`).
 *
 * `jobs-start` places the job on one node by its CPUs and GPUs (all its workers on that node, with
 * the torch.distributed rendezvous there) through the same `Placement` as deployment workers, and
 * sends the node a signed start message; the node's runner validates and starts it. The head
 * records each job's record and progress events as the node sends them, so `jobs list|show|logs`
 * from any client read them here. A job whose node is lost is marked failed with that reason.
 * `jobs-resume` and `jobs-rm` go to the node that ran the job: its checkpoints and files are there.
 *
 * The records survive a restart of the head (head-job-store.ts, under `$BYZERLLM_HOME/cluster-jobs`).
 * A restarted head asks the node of each job that was active for what it missed (`job-read`): the
 * job's supervisor runs detached on the node and outlives both the head and the node agent, so the
 * node answers with the events sent while the head was down and follows the job again, and the job
 * is re-attached. A node that does not answer within `REATTACH_TIMEOUT_MS` (lost, or gone with its
 * agent) fails the job with the reason "head restarted while the job was <status>; node <id> …".
 */
import type { Service, ServiceMsg } from '@nats-io/services';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import {
  AlreadyExistsError,
  InsufficientResourcesError,
  InvalidArgumentError,
  NotFoundError,
  toByzerLLMError,
  WorkerFailedError,
} from '../../core/index.js';
import type { WorkerPlacement } from '../placement.js';
import { failureReply } from '../wire/index.js';
import type { ClusterKey } from './cluster-key.js';
import { type HeadJobStore, placedRecord, type StoredJob } from './head-job-store.js';
import {
  type ClusterJobRecord,
  FINISHED_JOB_STATUSES,
  type JobAdminOperation,
  type JobProgressEvent,
  type JobProgressMessage,
  jobAdminSchemas,
  jobPlacementOptionsSchema,
  jobProgressMessageSchema,
  jobRecordSchema,
  jobSubjects,
  type PlacedJobRecord,
  readJobReplySchema,
} from './job-messages.js';
import { HEAD_QUEUE, respondReliably } from './nats-admin-server.js';
import { dropInvalid, parseWire, summarizeIssues } from './nats-messages.js';
import { subjects } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';
import { decodeSigned, signedEnvelope } from './signed-envelope.js';

/** A node validates the data and checks Python and torch before it answers a start. */
const NODE_START_TIMEOUT_MS = 5 * 60_000;
/** Stopping waits for the job's supervisor to end its workers (the runner waits up to a minute). */
const NODE_STOP_TIMEOUT_MS = 90_000;
/** A restarted head gives the node of an active job this long to answer for it. */
export const REATTACH_TIMEOUT_MS = 10_000;
const REATTACH_RETRY_MS = 500;
/** Reading a job's record and events is a file read on the node. */
const NODE_READ_TIMEOUT_MS = 5_000;
/** Events the head adds itself (a lost node, a restart) carry this, the node's events do not. */
const HEAD_EVENT_SOURCE = { source: 'head' } as const;

/** What the head's job registry needs of the head: room on nodes, from the deployments' ledger. */
export interface JobPlacer {
  /** Holds room on the node with most room, or only on `node` when given. */
  placeJob(request: { name: string; cpus: number; gpus: number; node?: string }): WorkerPlacement;
  releaseJob(name: string): void;
}

interface JobEntry extends StoredJob {
  events: JobProgressEvent[];
  /** How many of `events` came from the node: the index its next new event has there. */
  nodeEvents: number;
  /** The catch-up read from the node in flight, if any (one at a time). */
  catchingUp?: Promise<void>;
}

export interface HeadJobsOptions {
  connection: NatsConnection;
  service: Service;
  placer: JobPlacer;
  store: HeadJobStore;
  clusterKey?: ClusterKey;
  log: (line: string) => void;
}

export class HeadJobs {
  private readonly jobs = new Map<string, JobEntry>();
  private readonly subscription: Subscription;

  constructor(private readonly options: HeadJobsOptions) {
    const { connection, clusterKey, log } = options;
    this.subscription = connection.subscribe(jobSubjects.progress, {
      callback: (_error, message) => {
        const parsed = decodeSigned(clusterKey, message.subject, message.data, jobProgressMessageSchema);
        if (parsed.ok) this.record(parsed.value);
        else dropInvalid(message, parsed.reason, log);
      },
    });
    for (const operation of Object.keys(jobAdminSchemas) as JobAdminOperation[]) {
      options.service.addEndpoint(operation, {
        subject: subjects.admin(operation),
        queue: HEAD_QUEUE,
        handler: (_error: Error | null, message: ServiceMsg) => this.handle(operation, message),
      });
    }
  }

  /**
   * Loads the stored records; each job that was active is re-attached in the background (or failed
   * when its node does not answer). Call once the nodes had time to announce themselves.
   */
  async restore(): Promise<void> {
    for (const { stored, events } of await this.options.store.load()) {
      const nodeEvents = events.filter((event) => event.source !== HEAD_EVENT_SOURCE.source).length;
      const entry: JobEntry = { ...stored, events, nodeEvents };
      this.jobs.set(stored.record.name, entry);
      if (!isFinished(entry.record)) void this.reattach(entry);
    }
  }

  /** Every active job on the lost node fails with the reason; its room is released. */
  nodeLost(nodeId: string, reason: string): void {
    for (const entry of this.jobs.values()) {
      if (entry.node !== nodeId || isFinished(entry.record)) continue;
      this.fail(entry, `node ${nodeId} was lost (${reason})`);
    }
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private handle(operation: JobAdminOperation, message: ServiceMsg): void {
    const parsed = parseWire(jobAdminSchemas[operation] as z.ZodType<Record<string, unknown>>, message.data);
    if (!parsed.ok) {
      dropInvalid(message, parsed.reason, this.options.log);
      return;
    }
    const body = parsed.value;
    const { connection } = this.options;
    this.run(operation, body).then(
      (result) => respondReliably(connection, message, { ok: true, result }),
      (error: unknown) => respondReliably(connection, message, failureReply(error)),
    );
  }

  private async run(operation: JobAdminOperation, body: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case 'jobs-start':
        return this.start(body.options as Record<string, unknown>);
      case 'jobs-list':
        return [...this.jobs.values()].map(placedRecord);
      case 'jobs-show':
        return placedRecord(this.entry(body.name as string));
      case 'jobs-logs':
        return this.entry(body.name as string).events.slice((body.from as number | undefined) ?? 0);
      case 'jobs-stop':
        return this.stop(body.name as string);
      case 'jobs-resume':
        return this.resume(body.name as string);
      case 'jobs-rm':
        return this.remove(body.name as string, body.force === true);
    }
  }

  private entry(name: string): JobEntry {
    const entry = this.jobs.get(name);
    if (!entry) throw new NotFoundError(`training job ${name} is not known to this head`);
    return entry;
  }

  private async start(input: Record<string, unknown>): Promise<PlacedJobRecord> {
    const parsed = jobPlacementOptionsSchema.safeParse(input);
    if (!parsed.success) throw new InvalidArgumentError(`training options: ${summarizeIssues(parsed.error)}`);
    const jobOptions = parsed.data;
    const name = jobOptions.name ?? `${jobOptions.kind}-${Date.now().toString(36)}`;
    if (this.jobs.has(name))
      throw new AlreadyExistsError(`training job ${name} exists on this cluster; pick another --name`);
    const cpus = jobOptions.numWorkers * jobOptions.cpusPerWorker;
    const gpus = jobOptions.numWorkers * jobOptions.gpusPerWorker;
    const placement = this.options.placer.placeJob({ name, cpus, gpus });
    const entry: JobEntry = {
      version: 1,
      node: placement.node,
      cpus,
      gpus,
      record: { name, status: 'queued' },
      events: [],
      nodeEvents: 0,
    };
    this.jobs.set(name, entry);
    try {
      const record = await this.askNode(entry, jobSubjects.nodeJobStart, { options: { ...input, name } });
      // Progress may have arrived first: keep the newer record it brought.
      if (entry.nodeEvents === 0) entry.record = jobRecordSchema.parse(record);
      this.persist(entry);
      this.options.log(`training job ${name} runs on node ${placement.node}`);
      return placedRecord(entry);
    } catch (error) {
      this.jobs.delete(name);
      this.options.placer.releaseJob(name);
      await this.options.store.remove(name);
      throw error;
    }
  }

  private async stop(name: string): Promise<PlacedJobRecord> {
    const entry = this.entry(name);
    if (isFinished(entry.record)) return placedRecord(entry);
    const record = await this.askNode(entry, jobSubjects.nodeJobStop, { name }, NODE_STOP_TIMEOUT_MS);
    entry.record = jobRecordSchema.parse(record);
    if (isFinished(entry.record)) this.options.placer.releaseJob(name);
    this.persist(entry);
    return placedRecord(entry);
  }

  /** Resumes a failed or stopped job on the node that holds its checkpoints. */
  private async resume(name: string): Promise<PlacedJobRecord> {
    const entry = this.entry(name);
    const { status } = entry.record;
    if (status !== 'failed' && status !== 'stopped')
      throw new InvalidArgumentError(`training job ${name} is ${status}; only failed or stopped jobs resume`);
    const { node, cpus, gpus } = entry;
    try {
      this.options.placer.releaseJob(name);
      this.options.placer.placeJob({ name, cpus, gpus, node });
    } catch (error) {
      throw new InsufficientResourcesError(
        `training job ${name} resumes on node ${node}, which holds its checkpoints: ${toByzerLLMError(error).message}`,
      );
    }
    try {
      const record = await this.askNode(entry, jobSubjects.nodeJobResume, { name, from: entry.nodeEvents });
      entry.record = jobRecordSchema.parse(record);
      this.persist(entry);
      this.options.log(`training job ${name} resumed on node ${node}`);
      return placedRecord(entry);
    } catch (error) {
      this.options.placer.releaseJob(name);
      throw error;
    }
  }

  /**
   * Deletes the job's folder on its node, then the head's record. A node that cannot be reached
   * keeps the record unless `force` (then its files stay on the node, and the answer says so).
   */
  private async remove(
    name: string,
    force: boolean,
  ): Promise<{ name: string; node: string; nodeFiles: string }> {
    const entry = this.entry(name);
    if (!isFinished(entry.record) && !force)
      throw new InvalidArgumentError(
        `training job ${name} is ${entry.record.status}; stop it first or use --force`,
      );
    let nodeFiles = 'removed';
    try {
      await this.askNode(entry, jobSubjects.nodeJobRemove, { name, force }, NODE_STOP_TIMEOUT_MS);
    } catch (error) {
      const failure = toByzerLLMError(error);
      if (failure instanceof NotFoundError) nodeFiles = 'already gone';
      else if (force) nodeFiles = `left on node ${entry.node} (${failure.message})`;
      else
        throw new WorkerFailedError(
          `could not remove training job ${name} on node ${entry.node}: ${failure.message}; --force forgets it here and leaves its files on the node`,
        );
    }
    this.jobs.delete(name);
    this.options.placer.releaseJob(name);
    await this.options.store.remove(name);
    this.options.log(`training job ${name} removed (files on node ${entry.node}: ${nodeFiles})`);
    return { name, node: entry.node, nodeFiles };
  }

  /** A node's progress message: events appended once each (by index), the record replaced. */
  private record(message: JobProgressMessage): void {
    const { name } = message.record;
    const entry = this.jobs.get(name);
    if (!entry || entry.node !== message.nodeId) {
      this.options.log(
        `dropped progress of training job ${name} from node ${message.nodeId}: not placed there`,
      );
      return;
    }
    // Events sent while this head was down (or lost on the way): read them from the node.
    if (message.from > entry.nodeEvents) {
      this.catchUp(entry).catch((error: unknown) =>
        this.options.log(`could not catch up with training job ${name}: ${(error as Error).message}`),
      );
      return;
    }
    this.apply(entry, message.record, message.from, message.events);
  }

  /**
   * Takes the node's record and its events from index `from`, skipping those already held. A job
   * the head has finished (its node was lost, a stop) keeps its record until the head resumes it.
   */
  private apply(entry: JobEntry, record: ClusterJobRecord, from: number, events: JobProgressEvent[]): void {
    const added = events.slice(Math.max(0, entry.nodeEvents - from));
    entry.events.push(...added);
    entry.nodeEvents += added.length;
    const before = JSON.stringify(entry.record);
    if (!isFinished(entry.record) || entry.record.status === record.status) entry.record = record;
    if (isFinished(entry.record)) this.options.placer.releaseJob(entry.record.name);
    // Most messages of a quiet job change nothing: no write then.
    if (added.length > 0 || JSON.stringify(entry.record) !== before) this.persist(entry, added);
  }

  /** Reads the events the head misses, and the record, from the node (one read at a time). */
  private catchUp(entry: JobEntry): Promise<void> {
    entry.catchingUp ??= this.readFromNode(entry).finally(() => {
      entry.catchingUp = undefined;
    });
    return entry.catchingUp;
  }

  private async readFromNode(entry: JobEntry): Promise<void> {
    const name = entry.record.name;
    for (;;) {
      const from = entry.nodeEvents;
      const reply = readJobReplySchema.parse(
        await this.askNode(entry, jobSubjects.nodeJobRead, { name, from }, NODE_READ_TIMEOUT_MS),
      );
      this.apply(entry, reply.record, from, reply.events);
      if (entry.nodeEvents >= reply.total || reply.events.length === 0) return;
    }
  }

  /** After a restart: catch up with an active job on its node and hold its room again, or fail it. */
  private async reattach(entry: JobEntry): Promise<void> {
    const { name, status } = entry.record;
    const deadline = Date.now() + REATTACH_TIMEOUT_MS;
    for (;;) {
      try {
        await this.catchUp(entry);
        break;
      } catch (error) {
        const failure = toByzerLLMError(error);
        if (failure instanceof NotFoundError || Date.now() >= deadline) {
          this.fail(
            entry,
            `head restarted while the job was ${status}; node ${entry.node} did not report it (${failure.message})`,
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, REATTACH_RETRY_MS));
      }
    }
    this.options.log(`training job ${name} re-attached on node ${entry.node}: ${entry.record.status}`);
    if (isFinished(entry.record)) return;
    try {
      this.options.placer.placeJob({ name, cpus: entry.cpus, gpus: entry.gpus, node: entry.node });
    } catch (error) {
      this.options.log(
        `training job ${name} runs on node ${entry.node} without its room counted: ${toByzerLLMError(error).message}`,
      );
    }
  }

  private fail(entry: JobEntry, reason: string): void {
    entry.record = { ...entry.record, status: 'failed', reason };
    const event = { event: 'status', status: 'failed', reason, ...HEAD_EVENT_SOURCE };
    entry.events.push(event);
    this.options.placer.releaseJob(entry.record.name);
    this.persist(entry, [event]);
    this.options.log(`training job ${entry.record.name} failed: ${reason}`);
  }

  /** A signed request to the job's node; resolves to its answer. */
  private askNode(
    entry: JobEntry,
    subjectOf: (node: string) => string,
    payload: unknown,
    timeoutMs = NODE_START_TIMEOUT_MS,
  ): Promise<unknown> {
    const subject = subjectOf(entry.node);
    return natsRequest<unknown>(
      this.options.connection,
      subject,
      signedEnvelope(this.options.clusterKey, subject, payload),
      timeoutMs,
    );
  }

  private persist(entry: JobEntry, events: readonly JobProgressEvent[] = []): void {
    const { version, node, cpus, gpus, record } = entry;
    void this.options.store.save({ version, node, cpus, gpus, record }, events);
  }
}

function isFinished(record: ClusterJobRecord): boolean {
  return FINISHED_JOB_STATUSES.includes(record.status);
}
