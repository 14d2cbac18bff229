/**
 * Training jobs on a NATS cluster (`--address nats://…`): the head places them on nodes and records
 * their progress (cluster/nats/head-jobs.ts). Paths in the options are made absolute here, since the
 * node's process runs elsewhere: with several machines they must name the same files on the node
 * (a shared filesystem), as `--model_path` of a deployment does.
 */
import path from 'node:path';
import { FINISHED_JOB_STATUSES, NatsClusterClient, type PlacedJobRecord } from '../cluster/index.js';
import { ByzerLLMError, InvalidArgumentError } from '../core/index.js';
import type { TrainingOptionsInput } from '../train/index.js';
import { type NatsSecurityFlags, natsSecurityFromFlags } from './options.js';

/** How often `--follow` asks the head for new progress. */
const FOLLOW_INTERVAL_MS = 1_000;

export interface RemoteFlags extends NatsSecurityFlags {
  address?: string;
}

/** Runs `use` with a client of the cluster at `--address` (which must be a nats:// address). */
export async function withJobsClient<Result>(
  flags: RemoteFlags & { address: string },
  use: (client: NatsClusterClient) => Promise<Result>,
): Promise<Result> {
  if (!/^(nats|tls):\/\//.test(flags.address))
    throw new InvalidArgumentError(
      `--address ${flags.address}: training jobs run on a NATS cluster (nats://host:4222); without --address they run on this machine`,
    );
  const client = await NatsClusterClient.connect(flags.address, natsSecurityFromFlags(flags));
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/**
 * Runs `remote` against the cluster at `--address` when one is given, else `local` on this machine's
 * jobs folder: every `jobs` subcommand that works both ways chooses its host here.
 */
export function onJobsHost<Result>(
  flags: RemoteFlags,
  remote: (client: NatsClusterClient) => Promise<Result>,
  local: () => Promise<Result>,
): Promise<Result> {
  return flags.address ? withJobsClient({ ...flags, address: flags.address }, remote) : local();
}

/** The options with `modelPath` and `data` absolute, for a node whose working directory differs. */
export function withAbsolutePaths(input: TrainingOptionsInput): Record<string, unknown> {
  return {
    ...input,
    modelPath: path.resolve(input.modelPath),
    ...(input.data ? { data: path.resolve(input.data) } : {}),
  };
}

/** Prints each new progress event as a JSON line until the job finishes; fails unless it succeeded. */
export async function followRemoteJob(
  client: NatsClusterClient,
  name: string,
  from = 0,
): Promise<PlacedJobRecord> {
  let next = from;
  for (;;) {
    const record = await client.getTrainingJob(name);
    const events = await client.readTrainingProgress(name, next);
    next += events.length;
    for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
    if (FINISHED_JOB_STATUSES.includes(record.status)) {
      if (record.status !== 'succeeded')
        throw new ByzerLLMError(
          'worker_failed',
          `training job ${name} ${record.status}: ${record.reason ?? 'no reason recorded'}`,
        );
      const outputs = record.outputs as { gguf?: string } | undefined;
      process.stdout.write(`job ${name} succeeded on ${describeNodes(record)}: ${outputs?.gguf ?? ''}\n`);
      const deployment = record.deployment as { name: string; status: string; error?: string } | undefined;
      if (deployment)
        process.stdout.write(
          deployment.status === 'deployed'
            ? `deployed as ${deployment.name} on node ${record.node}: byzerllm query --address … --model ${deployment.name} --query "…"\n`
            : `deploying ${deployment.name} failed: ${deployment.error}\n`,
        );
      return record;
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
  }
}

/** `node a`, or for a job spread over nodes `nodes a (ranks 0-1), b (ranks 2-3)`. */
export function describeNodes(record: PlacedJobRecord): string {
  const nodes = record.nodes ?? [];
  if (nodes.length <= 1) return `node ${record.node}`;
  return `nodes ${nodes.map((part) => `${part.node} (ranks ${part.ranks[0]}-${part.ranks[1]})`).join(', ')}`;
}
