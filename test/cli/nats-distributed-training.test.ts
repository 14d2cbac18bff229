/**
 * A training job spread over two node agents, through the real CLI: nats-server, a `--head_only`
 * head and two nodes (`alpha`, `beta`), each a real process with its own $BYZERLLM_HOME and
 * `--cpus 1`, so a 2-worker job cannot fit on one node and the head spreads it: rank 0 on one node,
 * rank 1 on the other, meeting at rank 0's rendezvous that the head handed on (signed messages).
 * The job memorises its answers, which `--deploy` serves at once from the node holding the model
 * (`query --address`); a head killed -9 mid-job is restarted and re-attaches the job through both
 * nodes, missing no step; a rank killed -9 fails the job with that reason and the other
 * rank is stopped; a node agent killed -9 fails the job ("node … was lost") and no process of
 * the job outlives it, on either node. The failed spread job's stored record keeps both parts and
 * `jobs rm` deletes its folder on both nodes. A spread job stopped at a checkpoint resumes on both
 * nodes at a fresh rendezvous, rank 1 loading the checkpoint rank 0 sends it; `jobs rm` without
 * `--force` deletes nothing while a node of the job does not answer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  type CliCluster,
  followUntilEvent,
  followUntilFirstStep,
  killByPidFile,
  restartClusterHead,
} from '../support/cli-cluster.js';
import { isAlive, untilGone } from '../support/process-watch.js';
import {
  ANSWERS,
  assertResumedFrom,
  finetuneFlags,
  newestCheckpoint,
  startTrainingCluster,
  type TrainingCluster,
} from '../support/training-cluster.js';

interface NodeShare {
  node: string;
  ranks: [number, number];
  status: string;
  reason?: string;
  workerPids: number[];
}
interface ShownJob {
  status: string;
  reason?: string;
  node: string;
  nodes: NodeShare[];
  workerPids: number[];
  outputs?: { gguf: string };
  deployment?: { name: string; status: string };
}

let training: TrainingCluster;
let cluster: CliCluster;
let basePath: string;
let data: string;

before(async () => {
  training = await startTrainingCluster(['alpha', 'beta'], ['--cpus', '1']);
  ({ cluster, basePath, data } = training);
});
after(async () => {
  await training?.close();
});

const trainFlags = (name: string, maxSteps: number) =>
  finetuneFlags({ address: cluster.nats.url, basePath, data, name, maxSteps });

async function jobEvents(name: string): Promise<Array<Record<string, unknown>>> {
  const logged = await cluster.head.run(['jobs', 'logs', name, '--address', cluster.nats.url]);
  assert.equal(logged.code, 0, logged.stderr);
  return logged.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function showJob(name: string): Promise<ShownJob> {
  const shown = await cluster.head.run(['jobs', 'show', name, '--address', cluster.nats.url]);
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout) as ShownJob;
}

test('2 workers that fit on no single node train across both nodes, memorise their answers, and --deploy serves them', {
  timeout: 600_000,
}, async () => {
  const { head, nats, nodes } = cluster;
  const started = await head.run([...trainFlags('spread', 60), '--deploy', 'spread_chat', '--follow']);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /deployed as spread_chat on node (alpha|beta)/);
  assert.match(
    started.stdout,
    /started training job spread on nodes (alpha|beta) \(ranks 0-0\), (alpha|beta) \(ranks 1-1\)/,
  );

  const record = await showJob('spread');
  assert.equal(record.status, 'succeeded');
  assert.deepEqual(record.deployment, { name: 'spread_chat', status: 'deployed' });
  assert.deepEqual(
    record.nodes.map((share) => share.node).sort(),
    ['alpha', 'beta'],
    'the job record shows both nodes',
  );
  for (const share of record.nodes) {
    assert.equal(share.status, 'succeeded');
    assert.equal(share.workerPids.length, 1, `one worker on ${share.node}`);
  }
  assert.equal(record.node, record.nodes[0]!.node, 'rank 0 runs on the first node listed');
  // Rank 0's node registered the model, under its own state directory.
  const rankZeroHome = nodes.get(record.node)!.home;
  assert.equal(record.outputs?.gguf, path.join(rankZeroHome, 'models', 'spread', 'model.gguf'));

  const logs = await head.run(['jobs', 'logs', 'spread', '--address', nats.url]);
  const steps = logs.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.event === 'step');
  assert.equal(steps.length, 60, "rank 0's steps reached the head once each");

  try {
    for (const [question, answer] of ANSWERS) {
      const result = await head.run([
        'query',
        '--address',
        nats.url,
        '--model',
        'spread_chat',
        '--query',
        question,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), answer, `the answer to ${question}`);
    }
  } finally {
    // Its room goes back: each node offers 1 CPU, the next jobs need all of it.
    const removed = await head.run(['undeploy', '--address', nats.url, '--model', 'spread_chat']);
    assert.equal(removed.code, 0, removed.stderr);
  }
});

test('a head killed -9 while a spread job runs re-attaches it through both nodes, missing no step', {
  timeout: 300_000,
}, async () => {
  const started = await cluster.head.run(trainFlags('relay', 30));
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilFirstStep(cluster, 'relay', () =>
    killByPidFile(cluster.head, 'head.json'),
  );
  assert.ok(followed.stepSeen, followed.stderr);
  assert.equal(followed.code, 6, `the follower lost its head: ${followed.stderr}`);
  await restartClusterHead(cluster);

  const address = ['--address', cluster.nats.url];
  const finished = await cluster.head.run(['jobs', 'logs', 'relay', '--follow', ...address]);
  assert.equal(finished.code, 0, finished.stderr);
  const record = await showJob('relay');
  assert.equal(record.status, 'succeeded');
  assert.deepEqual(
    record.nodes.map((share) => share.status),
    ['succeeded', 'succeeded'],
  );
  const logged = await cluster.head.run(['jobs', 'logs', 'relay', ...address]);
  const steps = logged.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string; step?: number })
    .filter((event) => event.event === 'step')
    .map((event) => event.step);
  assert.deepEqual(
    steps,
    Array.from({ length: 30 }, (_, index) => index + 1),
    'each step once, in order',
  );
  // The new head read both parts back from their nodes (job-read), not from its memory.
  const headLog = await fs.readFile(path.join(cluster.head.home, 'logs', 'head.log'), 'utf8');
  assert.match(headLog, /training job relay re-attached on nodes (alpha|beta), (alpha|beta): /);
});

test('a rank killed -9 fails the spread job with its reason, and the other rank is stopped', {
  timeout: 300_000,
}, async () => {
  let running: ShownJob | undefined;
  const started = await cluster.head.run(trainFlags('doomed', 100_000));
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilFirstStep(cluster, 'doomed', async () => {
    running = await showJob('doomed');
    assert.equal(running.status, 'running');
    process.kill(running.nodes[1]!.workerPids[0]!, 'SIGKILL');
  });
  assert.ok(followed.stepSeen, followed.stderr);
  assert.notEqual(followed.code, 0, 'following a failed job exits non-zero');
  const rankOneNode = running!.nodes[1]!.node;
  const cause = new RegExp(`node ${rankOneNode}: worker 1 \\(pid \\d+\\) was killed by SIGKILL`);
  assert.match(followed.stderr, cause);

  const record = await showJob('doomed');
  assert.equal(record.status, 'failed');
  assert.match(record.reason!, cause);
  // The job is failed once every node's share ended: rank 0 did not outlive its peer.
  const rankZeroPid = running!.nodes[0]!.workerPids[0]!;
  assert.equal(isAlive(rankZeroPid), false, `rank 0 (pid ${rankZeroPid}) was stopped`);
  assert.ok(
    record.nodes.every((share) => share.status === 'failed' || share.status === 'stopped'),
    JSON.stringify(record.nodes),
  );

  // The head's stored record keeps every part's node and ranks (it survives a head restart).
  const stored = JSON.parse(
    await fs.readFile(path.join(cluster.head.home, 'cluster-jobs', 'doomed', 'job.json'), 'utf8'),
  ) as { version: number; parts: Array<{ node: string; firstRank: number; workers: number }> };
  assert.equal(stored.version, 2);
  assert.deepEqual(
    stored.parts.map(({ node, firstRank, workers }) => [node, firstRank, workers]),
    record.nodes.map((share) => [share.node, share.ranks[0], share.ranks[1] - share.ranks[0] + 1]),
  );
  const address = ['--address', cluster.nats.url];
  // rm deletes the job's folder on every node it ran on, then the head's record.
  const removed = await cluster.head.run(['jobs', 'rm', 'doomed', ...address]);
  assert.equal(removed.code, 0, removed.stderr);
  for (const share of record.nodes) {
    assert.match(removed.stdout, new RegExp(`its files on node ${share.node}: removed`));
    const folder = path.join(cluster.nodes.get(share.node)!.home, 'jobs', 'doomed');
    await assert.rejects(fs.access(folder), { code: 'ENOENT' });
  }
  const shownAfter = await cluster.head.run(['jobs', 'show', 'doomed', ...address]);
  assert.notEqual(shownAfter.code, 0);
  assert.match(shownAfter.stderr, /training job doomed is not known to this head/);
});

test('a spread job stopped after a checkpoint resumes on both nodes at a fresh rendezvous, from the checkpoint', {
  timeout: 400_000,
}, async () => {
  const address = ['--address', cluster.nats.url];
  const flags = finetuneFlags({
    address: cluster.nats.url,
    basePath,
    data,
    name: 'paused',
    maxSteps: 40,
    saveSteps: 5,
  });
  const started = await cluster.head.run(flags);
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilEvent(cluster, {
    name: 'paused',
    event: 'checkpoint',
    onEvent: async () => {
      const stopped = await cluster.head.run(['jobs', 'stop', 'paused', ...address]);
      assert.equal(stopped.code, 0, stopped.stderr);
    },
  });
  assert.ok(followed.seen, followed.stderr);
  const stopped = await showJob('paused');
  assert.equal(stopped.status, 'stopped');
  const [rankZero, rankOne] = stopped.nodes.map((share) => share.node) as [string, string];
  const nodeJob = (node: string) => path.join(cluster.nodes.get(node)!.home, 'jobs', 'paused');
  const rendezvous = async (node: string) =>
    (
      JSON.parse(await fs.readFile(path.join(nodeJob(node), 'job.json'), 'utf8')) as {
        options: { distributed: { masterAddress: string; masterPort: number } };
      }
    ).options.distributed;
  const firstPort = (await rendezvous(rankZero)).masterPort;
  // Only rank 0 writes checkpoints: rank 1's node has none of its own.
  await assert.rejects(fs.access(path.join(nodeJob(rankOne), 'checkpoints', 'latest')), { code: 'ENOENT' });

  const before = await jobEvents('paused');
  const checkpoint = newestCheckpoint(before);
  const resumed = await cluster.head.run(['jobs', 'resume', 'paused', '--follow', ...address]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(
    resumed.stdout,
    new RegExp(
      `resumed training job paused on nodes ${rankZero} \\(ranks 0-0\\), ${rankOne} \\(ranks 1-1\\)`,
    ),
  );
  const record = await showJob('paused');
  assert.equal(record.status, 'succeeded');
  assert.deepEqual(
    record.nodes.map((share) => share.status),
    ['succeeded', 'succeeded'],
  );

  // A fresh rendezvous, which rank 0's node picked and the head handed to rank 1's.
  const [zero, one] = [await rendezvous(rankZero), await rendezvous(rankOne)];
  assert.deepEqual(
    [one.masterAddress, one.masterPort],
    [zero.masterAddress, zero.masterPort],
    "rank 1's node met rank 0's at the rendezvous it picked",
  );
  assert.notEqual(zero.masterPort, firstPort, "a new port, not the last run's");
  // Rank 1 went on from rank 0's checkpoint, which rank 0 sent it (its node had none).
  const rankOneLog = await fs.readFile(path.join(nodeJob(rankOne), 'logs', 'worker-1.log'), 'utf8');
  assert.match(rankOneLog, new RegExp(`rank 1 resumed from step-0*${checkpoint} \\(step ${checkpoint}\\)`));

  assertResumedFrom(checkpoint, { before, all: await jobEvents('paused') }, 40);
  const removed = await cluster.head.run(['jobs', 'rm', 'paused', ...address]);
  assert.equal(removed.code, 0, removed.stderr);
});

test('a node agent killed -9 fails the spread job, and no process of the job outlives it', {
  timeout: 300_000,
}, async () => {
  const { nodes } = cluster;
  let running: ShownJob | undefined;
  let supervisorPid: number | undefined;
  const started = await cluster.head.run(trainFlags('orphaned', 100_000));
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilFirstStep(cluster, 'orphaned', async () => {
    running = await showJob('orphaned');
    const victim = running.nodes[1]!.node;
    const victimHome = nodes.get(victim)!.home;
    const job = JSON.parse(await fs.readFile(path.join(victimHome, 'jobs', 'orphaned', 'job.json'), 'utf8'));
    supervisorPid = (job as { supervisorPid: number }).supervisorPid;
    const { pid } = JSON.parse(await fs.readFile(path.join(victimHome, 'node.json'), 'utf8')) as {
      pid: number;
    };
    process.kill(pid, 'SIGKILL');
  });
  const victim = running!.nodes[1]!.node;
  assert.ok(followed.stepSeen, followed.stderr);
  assert.notEqual(followed.code, 0, followed.stderr);
  assert.match(followed.stderr, new RegExp(`training job orphaned failed: node ${victim} was lost`));
  const record = await showJob('orphaned');
  assert.equal(record.status, 'failed');
  assert.match(record.reason!, new RegExp(`^node ${victim} was lost`));
  // The surviving node's rank was stopped by the head before the job was marked failed.
  assert.equal(isAlive(running!.nodes[0]!.workerPids[0]!), false, 'rank 0 was stopped');
  // The lost node's supervisor and rank end with their agent (the supervisor's stdin was its pipe).
  await untilGone(running!.nodes[1]!.workerPids[0]!, 30_000);
  await untilGone(supervisorPid!, 30_000);
  const victimJob = JSON.parse(
    await fs.readFile(path.join(nodes.get(victim)!.home, 'jobs', 'orphaned', 'job.json'), 'utf8'),
  ) as { status: string; reason: string };
  assert.equal(victimJob.status, 'failed');
  assert.match(victimJob.reason, /its node agent \(pid \d+\) exited/);

  // rm without --force deletes nothing when a node of the job does not answer, not even the
  // surviving node's folder; --force deletes that one and says the lost node's files remain.
  const address = ['--address', cluster.nats.url];
  const survivorJob = path.join(nodes.get(running!.nodes[0]!.node)!.home, 'jobs', 'orphaned');
  const refused = await cluster.head.run(['jobs', 'rm', 'orphaned', ...address]);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    new RegExp(`training job orphaned was not removed, nothing was deleted: node ${victim} did not answer`),
  );
  await fs.access(survivorJob);
  assert.equal((await showJob('orphaned')).status, 'failed', 'the head keeps its record');
  const forced = await cluster.head.run(['jobs', 'rm', 'orphaned', '--force', ...address]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, new RegExp(`its files on node ${running!.nodes[0]!.node}: removed`));
  assert.match(forced.stdout, new RegExp(`its files on node ${victim}: left on node ${victim}`));
  await assert.rejects(fs.access(survivorJob), { code: 'ENOENT' });
});
