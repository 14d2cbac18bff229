/**
 * `jobs resume|rm --address`: they go to the nodes that ran the job, where its files are.
 *
 * Resume: the job runs again on the nodes it ran on, each with the same ranks (rank 0's node holds
 * the checkpoints; only rank 0 writes them, job-supervisor.ts). As at the start the head is the
 * rendezvous: rank 0's node resumes first and answers with a fresh address and port (the last
 * run's rendezvous is gone), which the head hands to the others. Rank 0 then sends its newest
 * checkpoint over that rendezvous to the workers that do not hold it (python/byzerllm_train/
 * checkpoint.py): no node reads another's files. Remove: see `removeJob`.
 */
import {
  InsufficientResourcesError,
  InvalidArgumentError,
  NotFoundError,
  toByzerLLMError,
  WorkerFailedError,
} from '../../core/index.js';
import { type JobEntry, type JobRegistry, pinnedPlacement } from './head-job-entry.js';
import {
  jobRecordSchema,
  jobSubjects,
  type PlacedJobRecord,
  type Rendezvous,
  rendezvousReplySchema,
} from './job-messages.js';
import { readPartFromNode } from './head-job-recovery.js';
import { combinedRecord, describeNodes, isFinished, type JobPart } from './job-parts.js';

/** A node starting a resumed job checks Python and torch first, as for a start. */
const NODE_RESUME_TIMEOUT_MS = 5 * 60_000;
/** Removing an active job (`force`) waits for its workers to stop. */
const NODE_REMOVE_TIMEOUT_MS = 90_000;

/** Resumes a failed or stopped job on the nodes it ran on (rank 0's node first: the rendezvous). */
export async function resumeJob(registry: JobRegistry, entry: JobEntry): Promise<PlacedJobRecord> {
  const { name, status } = entry.record;
  if (status !== 'failed' && status !== 'stopped')
    throw new InvalidArgumentError(`training job ${name} is ${status}; only failed or stopped jobs resume`);
  const { placer } = registry.options;
  const where = describeNodes(entry.parts);
  try {
    placer.releaseJob(name);
    placer.placeJob(pinnedPlacement(entry));
  } catch (error) {
    throw new InsufficientResourcesError(
      `training job ${name} resumes on ${where}, where it ran (rank 0's node ${entry.parts[0]!.node} holds its checkpoints): ${toByzerLLMError(error).message}`,
    );
  }
  const resumed: JobPart[] = [];
  try {
    let rendezvous: Rendezvous | undefined;
    for (const [index, part] of entry.parts.entries()) {
      const reply = await registry.requestNode(
        jobSubjects.nodeJobResume(part.node),
        { name, from: part.received, ...(rendezvous ? { rendezvous } : {}) },
        NODE_RESUME_TIMEOUT_MS,
      );
      resumed.push(part);
      restart(part, jobRecordSchema.parse(reply));
      if (entry.parts.length > 1 && index === 0) {
        const { masterAddress, masterPort } = rendezvousReplySchema.parse(reply).options.distributed;
        rendezvous = { masterAddress, masterPort };
      }
    }
    // Only now: while the job's record still reads finished, a resumed part's progress changes it
    // not (HeadJobs.update), so a part not yet resumed does not count as a failure to stop for.
    entry.finishedCount = 0;
    entry.record = combinedRecord(entry.parts);
    void registry.persist(entry);
    registry.options.log(`training job ${name} resumed on ${where}`);
    return entry.record;
  } catch (error) {
    placer.releaseJob(name);
    // Resumed parts would wait at the rendezvous for ranks that never come.
    await Promise.all(resumed.map((part) => registry.stopPart(name, part)));
    throw error;
  }
}

/** The part runs again: what the head decided about its last run no longer holds. */
function restart(part: JobPart, record: JobPart['record']): void {
  part.record = record;
  part.lost = false;
  part.stopRequested = false;
  part.finishedOrder = undefined;
}

export interface RemovedJob {
  name: string;
  /** What became of the job's folder on each node it ran on. */
  nodes: Array<{ node: string; files: string }>;
}

/**
 * Deletes the job's folder on every part's node, then the head's record. Without `force` nothing
 * is deleted unless all of it can be: each part's node is asked for its own record first, and a
 * part still active there (whatever the head last heard) or a node that does not answer refuses
 * the whole removal before any folder is touched. A deletion that still fails on a node keeps the
 * head's record, and the error names the nodes whose files are gone and those whose remain.
 */
export async function removeJob(registry: JobRegistry, entry: JobEntry, force: boolean): Promise<RemovedJob> {
  const { name } = entry.record;
  if (!force) await checkRemovable(registry, entry);
  const nodes = await Promise.all(
    entry.parts.map(async ({ node }) => ({ node, files: await removeOnNode(registry, name, node, force) })),
  );
  if (nodes.some((each) => each.files instanceof Error))
    throw new WorkerFailedError(
      `training job ${name} was removed only in part (${nodes.map(describeFiles).join('; ')}); this head keeps its record: run jobs rm again, or --force to forget it and leave those files`,
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

/** Refuses, before anything is deleted, when a part is active on its node or its node does not answer. */
async function checkRemovable(registry: JobRegistry, entry: JobEntry): Promise<void> {
  const { name, status } = entry.record;
  if (!isFinished(entry.record))
    throw new InvalidArgumentError(`training job ${name} is ${status}; stop it first or use --force`);
  const problems = await Promise.all(
    entry.parts.map(async (part): Promise<string | undefined> => {
      try {
        const reply = await readPartFromNode(registry, name, part, part.received);
        return isFinished(reply.record) ? undefined : `it is ${reply.record.status} on node ${part.node}`;
      } catch (error) {
        const failure = toByzerLLMError(error);
        // Its folder there is gone already: nothing to refuse for.
        if (failure instanceof NotFoundError) return undefined;
        return `node ${part.node} did not answer (${failure.message})`;
      }
    }),
  );
  const found = problems.filter((problem) => problem !== undefined);
  if (found.length > 0)
    throw new InvalidArgumentError(
      `training job ${name} was not removed, nothing was deleted: ${found.join('; ')}; stop it first, or --force (which leaves the files of a node that does not answer there)`,
    );
}

function describeFiles({ node, files }: { node: string; files: string | Error }): string {
  return files instanceof Error
    ? `its files remain on node ${node}: ${files.message}`
    : `its files on node ${node}: ${files}`;
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
