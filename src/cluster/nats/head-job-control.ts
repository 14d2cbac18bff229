/**
 * `jobs resume|rm --address`: they go to the nodes that ran the job, where its files are.
 *
 * Resume: rank 0's node holds the checkpoints (only rank 0 writes them, job-supervisor.ts), and a
 * job's ranks on other nodes would start from step 0 against a rendezvous that no longer exists,
 * so only a job that ran on one node resumes (on that node); a spread job is refused with the
 * reason (docs/training.md). Remove: every part's node deletes its folder, then the head forgets
 * the record; a node that cannot be reached keeps the record unless `force`.
 */
import {
  InsufficientResourcesError,
  InvalidArgumentError,
  NotFoundError,
  toByzerLLMError,
  WorkerFailedError,
} from '../../core/index.js';
import { type JobEntry, type JobRegistry, pinnedPlacement } from './head-job-entry.js';
import { jobRecordSchema, jobSubjects, type PlacedJobRecord } from './job-messages.js';
import { combinedRecord, isFinished, type JobPart } from './job-parts.js';

/** A node starting a resumed job checks Python and torch first, as for a start. */
const NODE_RESUME_TIMEOUT_MS = 5 * 60_000;
/** Removing an active job (`force`) waits for its workers to stop. */
const NODE_REMOVE_TIMEOUT_MS = 90_000;

/** Resumes a failed or stopped job that ran on one node, on that node (its checkpoints are there). */
export async function resumeJob(registry: JobRegistry, entry: JobEntry): Promise<PlacedJobRecord> {
  const { name, status } = entry.record;
  if (status !== 'failed' && status !== 'stopped')
    throw new InvalidArgumentError(`training job ${name} is ${status}; only failed or stopped jobs resume`);
  if (entry.parts.length > 1)
    throw new InvalidArgumentError(
      `training job ${name} ran on ${entry.parts.length} nodes; a spread job does not resume (only rank 0's node ${entry.parts[0]!.node} has its checkpoints): start it again under a new --name`,
    );
  const part = entry.parts[0]!;
  const { placer } = registry.options;
  try {
    placer.releaseJob(name);
    placer.placeJob(pinnedPlacement(entry));
  } catch (error) {
    throw new InsufficientResourcesError(
      `training job ${name} resumes on node ${part.node}, which holds its checkpoints: ${toByzerLLMError(error).message}`,
    );
  }
  try {
    const reply = await registry.requestNode(
      jobSubjects.nodeJobResume(part.node),
      { name, from: part.received },
      NODE_RESUME_TIMEOUT_MS,
    );
    restart(entry, part, jobRecordSchema.parse(reply));
    void registry.persist(entry);
    registry.options.log(`training job ${name} resumed on node ${part.node}`);
    return entry.record;
  } catch (error) {
    placer.releaseJob(name);
    throw error;
  }
}

/** The part runs again: what the head decided about its last run no longer holds. */
function restart(entry: JobEntry, part: JobPart, record: JobPart['record']): void {
  part.record = record;
  part.lost = false;
  part.stopRequested = false;
  part.finishedOrder = undefined;
  entry.finishedCount = 0;
  entry.record = combinedRecord(entry.parts);
}

export interface RemovedJob {
  name: string;
  /** What became of the job's folder on each node it ran on. */
  nodes: Array<{ node: string; files: string }>;
}

/** Deletes the job's folder on every part's node, then the head's record. */
export async function removeJob(registry: JobRegistry, entry: JobEntry, force: boolean): Promise<RemovedJob> {
  const { name } = entry.record;
  if (!isFinished(entry.record) && !force)
    throw new InvalidArgumentError(
      `training job ${name} is ${entry.record.status}; stop it first or use --force`,
    );
  const nodes = await Promise.all(
    entry.parts.map(async ({ node }) => ({ node, files: await removeOnNode(registry, name, node, force) })),
  );
  const unreachable = nodes.find((each) => each.files instanceof Error);
  if (unreachable)
    throw new WorkerFailedError(
      `could not remove training job ${name} on node ${unreachable.node}: ${(unreachable.files as Error).message}; --force forgets it here and leaves its files on the node`,
    );
  registry.jobs.delete(name);
  registry.options.placer.releaseJob(name);
  await registry.options.store.remove(name);
  const summary = nodes.map((each) => ({ node: each.node, files: String(each.files) }));
  registry.options.log(
    `training job ${name} removed (${summary.map((each) => `files on node ${each.node}: ${each.files}`).join('; ')})`,
  );
  return { name, nodes: summary };
}

/** What became of the files on one node; an Error when it could not be reached and not `force`. */
async function removeOnNode(
  registry: JobRegistry,
  name: string,
  node: string,
  force: boolean,
): Promise<string | Error> {
  try {
    await registry.requestNode(jobSubjects.nodeJobRemove(node), { name, force }, NODE_REMOVE_TIMEOUT_MS);
    return 'removed';
  } catch (error) {
    const failure = toByzerLLMError(error);
    if (failure instanceof NotFoundError) return 'already gone';
    return force ? `left on node ${node} (${failure.message})` : failure;
  }
}
