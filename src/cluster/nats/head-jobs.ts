/**
 * The head's side of training jobs on NATS nodes (`byzerllm finetune|pretrain|jobs … --address`).
 *
 * `jobs-start` places the job by its CPUs and GPUs through the same `Placement` as deployment
 * workers: on one node when it fits, else spread over several (head/job-placement.ts). It sends
 * each node a signed start message with its share of the workers; for a spread job the head is the
 * rendezvous: it starts rank 0's node first, which answers with the address and port it listens on,
 * and hands them, the world size and each node's ranks to the others (job-parts.ts). The node's
 * runner validates and starts its part. The head records each part's record and rank 0's progress
 * events as the nodes send them, so `jobs list|show|logs` from any client read them here. A part
 * that fails or whose node is lost fails the job with that reason, and the head stops the others.
 *
 * The records survive a restart of the head (head-job-store.ts, under `$BYZERLLM_HOME/cluster-jobs`):
 * a restarted head asks each active part's node for what it missed and re-attaches the job, or
 * fails it with the reason (head-job-recovery.ts). `jobs-resume` and `jobs-rm` go to the nodes that
 * ran the job (head-job-control.ts); `jobs plot` reads the events held here.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ServiceMsg } from '@nats-io/services';
import type { Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../core/index.js';
import { failureReply } from '../wire/index.js';
import { removeJob, resumeJob } from './head-job-control.js';
import { deployJobModel } from './head-job-deploy.js';
import {
  HEAD_EVENT_SOURCE,
  type HeadJobsOptions,
  type JobEntry,
  type JobRegistry,
  type PlacedJobsView,
  storedJob,
} from './head-job-entry.js';
import { catchUp, restoreJobs } from './head-job-recovery.js';
import {
  type ClusterJobRecord,
  type JobAdminOperation,
  type JobProgressEvent,
  type JobProgressMessage,
  jobAdminSchemas,
  jobPlacementOptionsSchema,
  jobProgressMessageSchema,
  jobRecordSchema,
  jobSubjects,
  type PlacedJobRecord,
  rendezvousReplySchema,
} from './job-messages.js';
import {
  combinedRecord,
  describeNodes,
  isFinished,
  type JobPart,
  partOptions,
  partsFromPlacements,
} from './job-parts.js';
import { dropInvalid, parseWire, summarizeIssues } from './nats-messages.js';
import { subjects } from './nats-protocol.js';
import { natsRequest } from './nats-request.js';
import { HEAD_QUEUE, respondReliably } from './nats-admin-server.js';
import { decodeSigned, signedEnvelope } from './signed-envelope.js';

/** A node validates the data and checks Python and torch before it answers a start. */
const NODE_START_TIMEOUT_MS = 5 * 60_000;
/** Stopping waits for the job's supervisor to end its workers (the runner waits up to a minute). */
const NODE_STOP_TIMEOUT_MS = 90_000;

export type { HeadJobsOptions, JobPlacer, PlacedJobsView } from './head-job-entry.js';

export class HeadJobs implements JobRegistry, PlacedJobsView {
  readonly jobs = new Map<string, JobEntry>();
  private readonly subscription: Subscription;

  constructor(readonly options: HeadJobsOptions) {
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
   * when a node of it does not answer). Call once the nodes had time to announce themselves.
   */
  restore(): Promise<void> {
    return restoreJobs(this);
  }

  /** Every active part on the lost node fails with the reason (failing its job); room is released. */
  nodeLost(nodeId: string, reason: string): void {
    for (const entry of this.jobs.values()) {
      for (const part of entry.parts) {
        if (part.node !== nodeId || isFinished(part.record)) continue;
        this.failPart(entry, part, `node ${nodeId} was lost (${reason})`);
      }
    }
  }

  failPart(entry: JobEntry, part: JobPart, reason: string): void {
    part.lost = true;
    this.setPartRecord(entry, part, { ...part.record, status: 'failed', reason });
    this.options.log(`training job ${entry.record.name} failed on node ${part.node}: ${reason}`);
    this.update(entry.record.name, entry);
    void this.persist(entry);
  }

  settle(entry: JobEntry): void {
    this.update(entry.record.name, entry);
    void this.persist(entry);
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  async list(): Promise<PlacedJobRecord[]> {
    return [...this.jobs.values()].map((entry) => entry.record);
  }

  async events(name: string, from = 0): Promise<JobProgressEvent[] | undefined> {
    return this.jobs.get(name)?.events.slice(from);
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
        return this.list();
      case 'jobs-show':
        return this.entry(body.name as string).record;
      case 'jobs-logs':
        return this.entry(body.name as string).events.slice((body.from as number | undefined) ?? 0);
      case 'jobs-stop':
        return this.stop(body.name as string);
      case 'jobs-resume':
        return resumeJob(this, this.entry(body.name as string));
      case 'jobs-rm':
        return removeJob(this, this.entry(body.name as string), body.force === true);
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
    const placements = this.options.placer.placeJob({
      name,
      numWorkers: jobOptions.numWorkers,
      cpusPerWorker: jobOptions.cpusPerWorker,
      gpusPerWorker: jobOptions.gpusPerWorker,
      nodes: jobOptions.nodes,
    });
    const parts = partsFromPlacements(name, placements);
    const entry: JobEntry = {
      parts,
      record: combinedRecord(parts),
      events: [],
      persistedEvents: 0,
      finishedCount: 0,
      cpusPerWorker: jobOptions.cpusPerWorker,
      gpusPerWorker: jobOptions.gpusPerWorker,
    };
    // The head deploys the result itself (on the node holding it): the nodes are not told to.
    if (typeof input.deploy === 'string') entry.deployment = { name: input.deploy, started: false };
    this.jobs.set(name, entry);
    const started: JobPart[] = [];
    try {
      let rendezvous: { masterAddress: string; masterPort: number } | undefined;
      // Rank 0's node first: its answer carries the rendezvous the others need.
      for (const [index, part] of parts.entries()) {
        const options = partOptions({ ...input, name }, parts, index, rendezvous);
        const reply = await this.requestNode(
          jobSubjects.nodeJobStart(part.node),
          { options },
          NODE_START_TIMEOUT_MS,
        );
        started.push(part);
        // Progress may have arrived first: keep the newer record it brought.
        if (part.received === 0) part.record = jobRecordSchema.parse(reply);
        if (parts.length > 1 && index === 0) {
          // Only the rendezvous: the rest of node 0's share (its rank) is not the others'.
          const { masterAddress, masterPort } = rendezvousReplySchema.parse(reply).options.distributed;
          rendezvous = { masterAddress, masterPort };
        }
      }
      entry.record = combinedRecord(parts);
      void this.persist(entry);
      this.options.log(`training job ${name} runs on ${describeNodes(parts)}`);
      return entry.record;
    } catch (error) {
      this.jobs.delete(name);
      this.options.placer.releaseJob(name);
      await this.options.store.remove(name);
      // Parts already started would wait at the rendezvous for ranks that never come.
      await Promise.all(started.map((part) => this.stopPart(name, part)));
      throw error;
    }
  }

  /**
   * `jobs stop`: every active part's node is asked to stop it, then the job is written once (not
   * once per part and again: the writes of progress read meanwhile are held until then).
   */
  private async stop(name: string): Promise<PlacedJobRecord> {
    const entry = this.entry(name);
    entry.stopsRunning = (entry.stopsRunning ?? 0) + 1;
    const active = entry.parts.filter((part) => !isFinished(part.record));
    // requestStop never rejects.
    await Promise.all(active.map((part) => this.requestStop(name, part)));
    entry.stopsRunning -= 1;
    this.update(name, entry);
    // The answer is on disk before it is given: a head killed right after a stop still lists the
    // job stopped with every event (a restarted head re-reads only active jobs from their nodes).
    await this.persist(entry);
    return entry.record;
  }

  /** Asks a part's node to stop it (see `requestStop`), then records and saves the job. */
  async stopPart(name: string, part: JobPart): Promise<void> {
    const entry = await this.requestStop(name, part);
    if (!entry) return;
    this.update(name, entry);
    void this.persist(entry);
  }

  /**
   * Asks a part's node to stop it and takes the record it answers, with the events the node logged
   * up to its end; the caller saves. Undefined when the node could not answer (logged) or the job
   * is gone.
   */
  private async requestStop(name: string, part: JobPart): Promise<JobEntry | undefined> {
    part.stopRequested = true;
    try {
      const record = await this.requestNode(
        jobSubjects.nodeJobStop(part.node),
        { name },
        NODE_STOP_TIMEOUT_MS,
      );
      const entry = this.jobs.get(name);
      if (!entry) return undefined;
      this.setPartRecord(entry, part, jobRecordSchema.parse(record));
      // The node answers once its supervisor recorded the end, so every event (the last checkpoint
      // too, which may not have reached us yet as a progress message) is in its log: read them now.
      if (isFinished(part.record))
        await catchUp(this, entry, part).catch((error: unknown) =>
          this.options.log(
            `could not read the last events of training job ${name}: ${(error as Error).message}`,
          ),
        );
      return entry;
    } catch (error) {
      // Its node is gone or stuck: the node's loss (missed heartbeats) fails the part.
      this.options.log(
        `could not stop training job ${name} on node ${part.node}: ${(error as Error).message}`,
      );
      return undefined;
    }
  }

  requestNode(subject: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    return natsRequest<unknown>(
      this.options.connection,
      subject,
      signedEnvelope(this.options.clusterKey, subject, payload),
      timeoutMs,
    );
  }

  /** A node's progress message: applied, or read from the node when it starts past what the head has. */
  private record(message: JobProgressMessage): void {
    const { name } = message.record;
    const entry = this.jobs.get(name);
    const part = entry?.parts.find((each) => each.node === message.nodeId);
    if (!entry || !part) {
      this.options.log(
        `dropped progress of training job ${name} from node ${message.nodeId}: not placed there`,
      );
      return;
    }
    // Events sent while this head was down (or lost on the way): read them from the node.
    if (message.from > part.received) {
      catchUp(this, entry, part).catch((error: unknown) =>
        this.options.log(`could not catch up with training job ${name}: ${(error as Error).message}`),
      );
      return;
    }
    this.apply(entry, part, message.record, message.from, message.events);
  }

  /** Rank 0's events are appended once each (by index); the part's record replaced. */
  apply(
    entry: JobEntry,
    part: JobPart,
    record: ClusterJobRecord,
    from: number,
    events: JobProgressEvent[],
  ): void {
    const fresh = events.slice(Math.max(0, part.received - from));
    part.received += fresh.length;
    // Also after the head recorded the end: a stopped job's last checkpoint event can come after
    // the stop's reply, and `jobs resume` and its readers count on every rank-0 event.
    if (part === entry.parts[0]) entry.events.push(...fresh);
    const before = part.record;
    this.setPartRecord(entry, part, record);
    this.update(entry.record.name, entry);
    // Most messages of a quiet job change nothing: no write then. The records are compared as
    // values (setPartRecord keeps or replaces the object, never edits it), not stringified.
    if (entry.events.length > entry.persistedEvents || !isDeepStrictEqual(part.record, before))
      void this.persist(entry);
  }

  /**
   * Saves the record and the events not saved yet; saves run in order and never reject. While a
   * `jobs stop` runs, the job's saves wait for the one it makes at its end.
   */
  persist(entry: JobEntry): Promise<void> {
    if (entry.stopsRunning) return Promise.resolve();
    const events = entry.events.slice(entry.persistedEvents);
    entry.persistedEvents = entry.events.length;
    return this.options.store.save(storedJob(entry), events);
  }

  private setPartRecord(entry: JobEntry, part: JobPart, record: ClusterJobRecord): void {
    // A part the head already failed (its node was lost) stays failed.
    if (isFinished(part.record) && part.record.status !== record.status) return;
    if (!isFinished(part.record) && isFinished(record)) part.finishedOrder = entry.finishedCount++;
    part.record = record;
  }

  /**
   * Recomputes the job's record from its parts: a failing job's other parts are asked to stop, a
   * finished job releases its room, and a status the head decided is added to the job's events.
   */
  private update(name: string, entry: JobEntry): void {
    const wasFinished = isFinished(entry.record);
    if (wasFinished) return;
    // Room is released once every part has ended, before the head deploys the result there.
    if (entry.parts.every((part) => isFinished(part.record))) this.options.placer.releaseJob(name);
    const previous = entry.record.status;
    entry.record = this.withDeployment(entry, combinedRecord(entry.parts));
    const { status, reason } = entry.record;
    const decidedHere = status !== entry.parts[0]!.record.status || entry.parts[0]!.lost;
    if (status !== previous && decidedHere)
      entry.events.push({ event: 'status', status, ...(reason ? { reason } : {}), ...HEAD_EVENT_SOURCE });
    if (status === 'stopping') {
      for (const part of entry.parts)
        if (!part.stopRequested && !isFinished(part.record)) void this.stopPart(name, part);
    }
  }

  /** A succeeded job with `--deploy` is `deploying` until the head has deployed its model. */
  private withDeployment(entry: JobEntry, record: PlacedJobRecord): PlacedJobRecord {
    const { deployment } = entry;
    if (!deployment || record.status !== 'succeeded') return record;
    if (deployment.outcome) return { ...record, deployment: deployment.outcome };
    if (!deployment.started) {
      deployment.started = true;
      // After this update: the job's record reads `deploying` when the deployment's start is saved.
      queueMicrotask(() => void deployJobModel(this, entry, () => this.settle(entry)));
    }
    return { ...record, status: 'deploying' };
  }
}
