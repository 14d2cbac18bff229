/**
 * The head's side of training jobs on NATS nodes (`byzerllm finetune|pretrain|jobs … --address`).
 *
 * `jobs-start` places the job on one node by its CPUs and GPUs (all its workers on that node, with
 * the torch.distributed rendezvous there) through the same `Placement` as deployment workers, and
 * sends the node a signed start message; the node's runner validates and starts it. The head
 * records each job's record and progress events as the node sends them, so `jobs list|show|logs`
 * from any client read them here. A job whose node is lost is marked failed with that reason.
 *
 * The records live in the head's memory: a restarted head no longer lists jobs started before it
 * (their folders stay on the nodes, under each node's `$BYZERLLM_HOME/jobs`).
 */
import type { Service, ServiceMsg } from '@nats-io/services';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../core/index.js';
import type { WorkerPlacement } from '../placement.js';
import type { ClusterKey } from './cluster-key.js';
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
} from './job-messages.js';
import { dropInvalid, parseWire, summarizeIssues } from './nats-messages.js';
import { subjects } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';
import { HEAD_QUEUE, respondReliably } from './nats-admin-server.js';
import { failureReply } from '../wire/index.js';
import { decodeSigned, signedEnvelope } from './signed-envelope.js';

/** A node validates the data and checks Python and torch before it answers a start. */
const NODE_START_TIMEOUT_MS = 5 * 60_000;
/** Stopping waits for the job's supervisor to end its workers (the runner waits up to a minute). */
const NODE_STOP_TIMEOUT_MS = 90_000;

/** What the head's job registry needs of the head: room on nodes, from the deployments' ledger. */
export interface JobPlacer {
  placeJob(request: { name: string; cpus: number; gpus: number }): WorkerPlacement;
  releaseJob(name: string): void;
}

interface JobEntry {
  node: string;
  record: ClusterJobRecord;
  events: JobProgressEvent[];
}

export interface HeadJobsOptions {
  connection: NatsConnection;
  service: Service;
  placer: JobPlacer;
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

  /** Every active job on the lost node fails with the reason; its room is released. */
  nodeLost(nodeId: string, reason: string): void {
    for (const [name, entry] of this.jobs) {
      if (entry.node !== nodeId || FINISHED_JOB_STATUSES.includes(entry.record.status)) continue;
      entry.record = { ...entry.record, status: 'failed', reason: `node ${nodeId} was lost (${reason})` };
      entry.events.push({ event: 'status', status: 'failed', reason: entry.record.reason });
      this.options.placer.releaseJob(name);
      this.options.log(`training job ${name} failed: its node ${nodeId} was lost`);
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
        return [...this.jobs.entries()].map(([, entry]) => placed(entry));
      case 'jobs-show':
        return placed(this.entry(body.name as string));
      case 'jobs-logs':
        return this.entry(body.name as string).events.slice((body.from as number | undefined) ?? 0);
      case 'jobs-stop':
        return this.stop(body.name as string);
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
    const placement = this.options.placer.placeJob({
      name,
      cpus: jobOptions.numWorkers * jobOptions.cpusPerWorker,
      gpus: jobOptions.numWorkers * jobOptions.gpusPerWorker,
    });
    const entry: JobEntry = { node: placement.node, record: { name, status: 'queued' }, events: [] };
    this.jobs.set(name, entry);
    try {
      const subject = jobSubjects.nodeJobStart(placement.node);
      const payload = { options: { ...input, name } };
      const record = await natsRequest<unknown>(
        this.options.connection,
        subject,
        signedEnvelope(this.options.clusterKey, subject, payload),
        NODE_START_TIMEOUT_MS,
      );
      // Progress may have arrived first: keep the newer record it brought.
      if (entry.events.length === 0) entry.record = jobRecordSchema.parse(record);
      this.options.log(`training job ${name} runs on node ${placement.node}`);
      return placed(entry);
    } catch (error) {
      this.jobs.delete(name);
      this.options.placer.releaseJob(name);
      throw error;
    }
  }

  private async stop(name: string): Promise<PlacedJobRecord> {
    const entry = this.entry(name);
    if (FINISHED_JOB_STATUSES.includes(entry.record.status)) return placed(entry);
    const subject = jobSubjects.nodeJobStop(entry.node);
    const record = await natsRequest<unknown>(
      this.options.connection,
      subject,
      signedEnvelope(this.options.clusterKey, subject, { name }),
      NODE_STOP_TIMEOUT_MS,
    );
    entry.record = jobRecordSchema.parse(record);
    if (FINISHED_JOB_STATUSES.includes(entry.record.status)) this.options.placer.releaseJob(name);
    return placed(entry);
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
    // A job the head already failed (its node was lost) stays failed.
    if (FINISHED_JOB_STATUSES.includes(entry.record.status) && entry.record.status !== message.record.status)
      return;
    const skip = Math.max(0, entry.events.length - message.from);
    entry.events.push(...message.events.slice(skip));
    entry.record = message.record;
    if (FINISHED_JOB_STATUSES.includes(entry.record.status)) this.options.placer.releaseJob(name);
  }
}

function placed(entry: JobEntry): PlacedJobRecord {
  return { ...entry.record, node: entry.node };
}
