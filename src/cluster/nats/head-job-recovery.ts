/**
 * How the head's job registry gets back what it missed: after its own restart, and when a node's
 * progress message starts past the events the head holds (sent while the head was down, or lost).
 *
 * A restarted head loads the stored records (head-job-store.ts) and asks each active part's node
 * for its record and the events from the index it holds (`job-read`): the part's supervisor runs
 * detached on the node and outlives both the head and the node agent, so the node answers and
 * follows the job again. Once every active part answered, the job holds its room on the same
 * nodes again. A part whose node does not answer within `REATTACH_TIMEOUT_MS` (lost, or gone with
 * its agent) fails with the reason "head restarted while the job was <status>; node <id> did not
 * report it (…)", which fails the job and stops its other parts (job-parts.ts).
 */
import { z } from 'zod';
import { NotFoundError, toByzerLLMError } from '../../core/index.js';
import {
  HEAD_EVENT_SOURCE,
  type JobDeployment,
  type JobEntry,
  type JobRegistry,
  pinnedPlacement,
} from './head-job-entry.js';
import { jobSubjects, type ReadJobReply, readJobReplySchema } from './job-messages.js';
import { describeNodes, isFinished, type JobPart } from './job-parts.js';

/** A restarted head gives the node of an active part this long to answer for it. */
export const REATTACH_TIMEOUT_MS = 10_000;
const REATTACH_RETRY_MS = 500;
/** Reading a job's record and events is a file read on the node. */
const NODE_READ_TIMEOUT_MS = 5_000;

/** Loads the stored jobs into the registry; each active one is re-attached in the background. */
export async function restoreJobs(registry: JobRegistry): Promise<void> {
  for (const { stored, events } of await registry.options.store.load()) {
    const nodeEvents = events.filter((event) => event.source !== HEAD_EVENT_SOURCE.source).length;
    const parts: JobPart[] = stored.parts.map((part, index) => ({
      ...part,
      // Part 0's events are on disk: count them there (a torn last line is then read again).
      received: index === 0 ? nodeEvents : part.received,
      stopRequested: false,
    }));
    const record = { ...stored.record, node: parts[0]!.node };
    const entry: JobEntry = {
      parts,
      record,
      events,
      persistedEvents: events.length,
      finishedCount: parts.filter((part) => isFinished(part.record)).length,
      cpusPerWorker: stored.cpusPerWorker,
      gpusPerWorker: stored.gpusPerWorker,
      ...(stored.deploy ? { deployment: restoredDeployment(stored.deploy, record) } : {}),
    };
    registry.jobs.set(record.name, entry);
    if (!isFinished(entry.record)) void reattach(registry, entry);
  }
}

/** Reads what the head misses of a part from its node (one read at a time per part). */
export function catchUp(registry: JobRegistry, entry: JobEntry, part: JobPart): Promise<void> {
  part.catchingUp ??= readFromNode(registry, entry, part).finally(() => {
    part.catchingUp = undefined;
  });
  return part.catchingUp;
}

/** Asks a part's node for the job's record there and its events from `from` on (`job-read`). */
export async function readPartFromNode(
  registry: JobRegistry,
  name: string,
  part: JobPart,
  from: number,
): Promise<ReadJobReply> {
  const reply = await registry.requestNode(
    jobSubjects.nodeJobRead(part.node),
    { name, from },
    NODE_READ_TIMEOUT_MS,
  );
  return readJobReplySchema.parse(reply);
}

async function readFromNode(registry: JobRegistry, entry: JobEntry, part: JobPart): Promise<void> {
  const { name } = entry.record;
  for (;;) {
    const from = part.received;
    const reply = await readPartFromNode(registry, name, part, from);
    registry.apply(entry, part, reply.record, from, reply.events);
    if (part.received >= reply.total || reply.events.length === 0) return;
  }
}

/** After a restart: catch up with every active part on its node, then hold the job's room again. */
async function reattach(registry: JobRegistry, entry: JobEntry): Promise<void> {
  const { name, status } = entry.record;
  const active = entry.parts.filter((part) => !isFinished(part.record));
  const answered = await Promise.all(active.map((part) => reattachPart(registry, entry, part, status)));
  // With no part to read (all had ended, the head was `deploying` say), nothing else moves it on.
  registry.settle(entry);
  const where = describeNodes(entry.parts);
  registry.options.log(`training job ${name} re-attached on ${where}: ${entry.record.status}`);
  // A job whose parts all ended while the head was down (one left `deploying`, say) holds no room.
  if (!answered.every(Boolean) || entry.parts.every((part) => isFinished(part.record))) return;
  try {
    registry.options.placer.placeJob(pinnedPlacement(entry));
  } catch (error) {
    registry.options.log(
      `training job ${name} runs on ${where} without its room counted: ${toByzerLLMError(error).message}`,
    );
  }
}

/** Whether the part's node answered; a part whose node did not is failed with the reason. */
async function reattachPart(
  registry: JobRegistry,
  entry: JobEntry,
  part: JobPart,
  status: string,
): Promise<boolean> {
  const deadline = Date.now() + REATTACH_TIMEOUT_MS;
  for (;;) {
    try {
      await catchUp(registry, entry, part);
      return true;
    } catch (error) {
      const failure = toByzerLLMError(error);
      if (failure instanceof NotFoundError || Date.now() >= deadline) {
        registry.failPart(
          entry,
          part,
          `head restarted while the job was ${status}; node ${part.node} did not report it (${failure.message})`,
        );
        return false;
      }
      // Retrying a node that is still announcing itself; not a synchronisation of our own work.
      await new Promise((resolve) => setTimeout(resolve, REATTACH_RETRY_MS));
    }
  }
}

const deploymentOutcomeSchema = z.object({
  name: z.string(),
  status: z.enum(['deployed', 'failed']),
  error: z.string().optional(),
});

/** A deployment the head had done (its outcome is in the stored record) is not done again. */
function restoredDeployment(name: string, record: JobEntry['record']): JobDeployment {
  const outcome = deploymentOutcomeSchema.safeParse(record.deployment);
  return outcome.success ? { name, started: true, outcome: outcome.data } : { name, started: false };
}
