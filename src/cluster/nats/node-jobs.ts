/**
 * A node's side of training jobs: starts and stops jobs when the head asks (signed messages, like
 * worker starts), and streams each job's record and new progress events to the head on
 * `byzerllm.jobs.progress` until the job has finished.
 *
 * The runner (injected, see job-messages.ts) keeps a job's record and progress on this machine; the
 * node reads them every `PROGRESS_INTERVAL_MS` and sends what is new. A job whose worker dies is
 * marked failed by its supervisor here, and the head learns it from the next progress message.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { toByzerLLMError } from '../../core/index.js';
import type { ClusterKey } from './cluster-key.js';
import {
  FINISHED_JOB_STATUSES,
  type JobProgressMessage,
  jobSubjects,
  READ_JOB_EVENTS_LIMIT,
  type ReadJobReply,
  readJobMessageSchema,
  removeJobMessageSchema,
  resumeJobMessageSchema,
  startJobMessageSchema,
  stopJobMessageSchema,
  type TrainingJobRunner,
} from './job-messages.js';
import { dropInvalid } from './nats-messages.js';
import { encode, type Reply } from './nats-protocol.js';
import { decodeSigned, encodeSigned } from './signed-envelope.js';

/** How often a running job's progress is read and sent; a step line reaches the head within this. */
export const PROGRESS_INTERVAL_MS = 500;

export interface NodeJobsOptions {
  connection: NatsConnection;
  nodeId: string;
  runner: TrainingJobRunner;
  clusterKey?: ClusterKey;
  log: (line: string) => void;
}

export function serveJobsOnNode(options: NodeJobsOptions): { close(): void } {
  const { connection, nodeId, runner, clusterKey, log } = options;
  const followers = new Map<string, NodeJS.Timeout>();
  const respond = (message: Msg, reply: Reply<unknown>) => {
    if (message.reply) message.respond(encode(reply));
  };
  const answer = <Value>(message: Msg, schema: z.ZodType<Value>, run: (value: Value) => Promise<unknown>) => {
    const parsed = decodeSigned(clusterKey, message.subject, message.data, schema);
    if (!parsed.ok) return dropInvalid(message, parsed.reason, log);
    run(parsed.value).then(
      (result) => respond(message, { ok: true, result }),
      (error: unknown) => respond(message, { ok: false, error: toByzerLLMError(error).toJSON() }),
    );
  };

  const follow = (name: string, from = 0) => {
    let sent = from;
    let reading = false;
    const tick = async () => {
      if (reading) return;
      reading = true;
      try {
        const { record, events } = await runner.read(name, sent);
        const message: JobProgressMessage = { nodeId, record, from: sent, events };
        connection.publish(jobSubjects.progress, encodeSigned(clusterKey, jobSubjects.progress, message));
        sent += events.length;
        if (FINISHED_JOB_STATUSES.includes(record.status)) unfollow(name);
      } catch (error) {
        log(`could not read the progress of training job ${name}: ${(error as Error).message}`);
      } finally {
        reading = false;
      }
    };
    unfollow(name);
    followers.set(
      name,
      setInterval(() => void tick(), PROGRESS_INTERVAL_MS),
    );
    void tick();
  };
  const unfollow = (name: string) => {
    clearInterval(followers.get(name));
    followers.delete(name);
  };

  const subscriptions: Subscription[] = [
    connection.subscribe(jobSubjects.nodeJobStart(nodeId), {
      callback: (_error, message) =>
        answer(message, startJobMessageSchema, async ({ options: jobOptions }) => {
          const record = await runner.start(jobOptions);
          log(`started training job ${record.name}`);
          follow(record.name);
          return record;
        }),
    }),
    connection.subscribe(jobSubjects.nodeJobStop(nodeId), {
      callback: (_error, message) =>
        answer(message, stopJobMessageSchema, async ({ name }) => {
          const record = await runner.stop(name);
          log(`stopped training job ${name}`);
          return record;
        }),
    }),
    connection.subscribe(jobSubjects.nodeJobResume(nodeId), {
      callback: (_error, message) =>
        answer(message, resumeJobMessageSchema, async ({ name, from, rendezvous }) => {
          const record = await runner.resume(name, rendezvous);
          log(`resumed training job ${name}`);
          follow(name, from);
          return record;
        }),
    }),
    connection.subscribe(jobSubjects.nodeJobRemove(nodeId), {
      callback: (_error, message) =>
        answer(message, removeJobMessageSchema, async ({ name, force }) => {
          await runner.remove(name, force);
          unfollow(name);
          log(`removed training job ${name}`);
          return null;
        }),
    }),
    connection.subscribe(jobSubjects.nodeJobRead(nodeId), {
      callback: (_error, message) =>
        answer(message, readJobMessageSchema, async ({ name, from }): Promise<ReadJobReply> => {
          const { record, events } = await runner.read(name, from);
          const total = from + events.length;
          // A restarted agent (or one whose head was away) follows its active jobs again.
          if (!FINISHED_JOB_STATUSES.includes(record.status) && !followers.has(name)) follow(name, total);
          return { record, events: events.slice(0, READ_JOB_EVENTS_LIMIT), total };
        }),
    }),
  ];
  return {
    close() {
      for (const subscription of subscriptions) subscription.unsubscribe();
      for (const name of [...followers.keys()]) unfollow(name);
    },
  };
}
