/**
 * Training-job records survive a restart of the head, embedded and on NATS, and `jobs
 * resume|rm|plot --address` act on the node that ran the job. Real processes throughout: an
 * embedded head; nats-server, a `--head_only` head and one node agent sharing a cluster key.
 *
 * - Embedded: jobs are folders under `$BYZERLLM_HOME/jobs` run by a detached supervisor, not by the
 *   head, so a head killed -9 mid-job changes nothing: the job finishes and its record reads back.
 * - NATS, head killed -9 while a job runs: the restarted head re-attaches it (its node still runs
 *   it) and catches up with the events sent while it was down, each step exactly once.
 * - NATS, head stopped (SIGTERM) and restarted: finished jobs list with their final loss and outputs.
 * - NATS, stop → head killed -9 → restart → `jobs resume --address`: the loss goes on from the
 *   checkpoint; `jobs plot --address` writes a PNG here; `jobs rm --address` deletes the node's
 *   folder and the head's record.
 * - NATS, head killed -9 once it began deploying a finished job's model (`--deploy`): the restarted
 *   head deploys it once (one outcome event, one live worker on the node).
 * - NATS, head and node agent both killed while a job runs: the restarted head fails the job with
 *   "head restarted while the job was running; node trainer did not report it".
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestHome } from '../support/cli.js';
import {
  type CliCluster,
  followUntilEvent,
  killByPidFile,
  restartClusterHead,
} from '../support/cli-cluster.js';
import {
  assertResumedFrom,
  finetuneFlags,
  newestCheckpoint,
  startTrainingCluster,
  type TrainingCluster,
} from '../support/training-cluster.js';

const NODE = 'trainer';

let training: TrainingCluster;
let cluster: CliCluster;
let basePath: string;
let data: string;
/** Supervisors of jobs a test leaves orphaned on purpose, ended (with their group) at the end. */
const orphans: number[] = [];

before(async () => {
  training = await startTrainingCluster([NODE]);
  ({ cluster, basePath, data } = training);
});
after(async () => {
  for (const pid of orphans) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group has ended.
    }
  }
  await training?.close();
});

async function startClusterHead(): Promise<void> {
  await restartClusterHead(cluster);
}

function jobs(args: string[]) {
  return cluster.head.run(['jobs', ...args, '--address', cluster.nats.url]);
}

async function show(name: string): Promise<Record<string, unknown> & { status: string }> {
  const shown = await jobs(['show', name]);
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout) as Record<string, unknown> & { status: string };
}

async function logs(name: string): Promise<Array<Record<string, unknown>>> {
  const result = await jobs(['logs', name]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The head's stored record of a job (head-job-store.ts) and the node's events stored with it. */
async function storedJob(name: string) {
  const folder = path.join(cluster.head.home, 'cluster-jobs', name);
  const job = JSON.parse(await fs.readFile(path.join(folder, 'job.json'), 'utf8')) as {
    record: { status: string };
    parts: Array<{ record: { status: string }; received: number }>;
  };
  const events = (await fs.readFile(path.join(folder, 'events.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { job, nodeEvents: events.filter((event) => event.source !== 'head') };
}

const steps = (events: Array<Record<string, unknown>>) => events.filter((event) => event.event === 'step');

const job = (name: string, maxSteps: number, saveSteps?: number) =>
  finetuneFlags({
    address: cluster.nats.url,
    basePath,
    data,
    name,
    maxSteps,
    numWorkers: 1,
    ...(saveSteps ? { saveSteps } : {}),
  });

test('embedded: a head killed -9 mid-job leaves the job running; its record reads back after the restart', {
  timeout: 300_000,
}, async () => {
  const home = await createTestHome();
  try {
    assert.equal((await home.run(['start'])).code, 0);
    const started = await home.run(
      finetuneFlags({ basePath, data, name: 'local', maxSteps: 12, numWorkers: 1 }),
    );
    assert.equal(started.code, 0, started.stderr);
    await killByPidFile(home, 'head.json');
    assert.equal((await home.run(['start'])).code, 0);
    const followed = await home.run(['jobs', 'logs', 'local', '--follow']);
    assert.equal(followed.code, 0, followed.stderr);
    const record = JSON.parse((await home.run(['jobs', 'show', 'local'])).stdout) as {
      status: string;
      outputs: { gguf: string };
      lastStep: { step: number; loss: number };
    };
    assert.equal(record.status, 'succeeded');
    assert.equal(record.lastStep.step, 12);
    await fs.access(record.outputs.gguf);
    const stat = await fs.stat(path.join(home.home, 'jobs', 'local', 'job.json'));
    assert.equal(stat.mode & 0o777, 0o600, 'the record is readable by its user only');
    assert.equal((await fs.stat(path.join(home.home, 'jobs', 'local'))).mode & 0o777, 0o700);
  } finally {
    await home.cleanup();
  }
});

test('NATS: a head killed -9 while a job runs re-attaches it after the restart, missing no step', {
  timeout: 300_000,
}, async () => {
  const started = await cluster.head.run(job('steady', 40));
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilEvent(cluster, {
    name: 'steady',
    event: 'step',
    onEvent: () => killByPidFile(cluster.head, 'head.json'),
  });
  assert.ok(followed.seen, followed.stderr);
  assert.equal(followed.code, 6, `the follower lost its head: ${followed.stderr}`);
  await startClusterHead();

  const finished = await jobs(['logs', 'steady', '--follow']);
  assert.equal(finished.code, 0, finished.stderr);
  const record = await show('steady');
  assert.equal(record.status, 'succeeded');
  assert.equal(record.node, NODE);
  const nodeHome = cluster.nodes.get(NODE)!.home;
  assert.equal(
    (record.outputs as { gguf: string }).gguf,
    path.join(nodeHome, 'models', 'steady', 'model.gguf'),
  );
  const seen = steps(await logs('steady')).map((event) => event.step);
  assert.deepEqual(
    seen,
    Array.from({ length: 40 }, (_, index) => index + 1),
    'each step once, in order',
  );
  // The new head caught up through the node (job-read), not only from messages sent after it started.
  const headLog = await fs.readFile(path.join(cluster.head.home, 'logs', 'head.log'), 'utf8');
  assert.match(headLog, /training job steady re-attached on node trainer: /);

  // A clean stop and start: the finished job lists with its final loss, read from the head's disk.
  assert.equal((await cluster.head.run(['stop'])).code, 0);
  await startClusterHead();
  const lastLoss = Number(steps(await logs('steady')).at(-1)!.loss);
  const listed = await jobs(['list']);
  assert.match(
    listed.stdout,
    new RegExp(`steady\\s+finetune\\s+succeeded\\s+40/40\\s+${lastLoss.toFixed(4)}`),
  );
  const stored = path.join(cluster.head.home, 'cluster-jobs', 'steady', 'job.json');
  assert.equal((await fs.stat(stored)).mode & 0o777, 0o600);
});

test('NATS: stop, head killed -9, restart, resume --address goes on from the checkpoint; plot; rm', {
  timeout: 400_000,
}, async () => {
  const started = await cluster.head.run(job('paused', 150, 5));
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilEvent(cluster, {
    name: 'paused',
    event: 'checkpoint',
    onEvent: async () => {
      const stopped = await jobs(['stop', 'paused']);
      assert.equal(stopped.code, 0, stopped.stderr);
      // Written once per stop, before the answer: the job and its part read stopped, and every
      // event the part's node logged (counted in `received`) is in events.jsonl beside it.
      const stored = await storedJob('paused');
      assert.equal(stored.job.record.status, 'stopped');
      assert.deepEqual(
        stored.job.parts.map((part) => part.record.status),
        ['stopped'],
      );
      assert.equal(stored.nodeEvents.length, stored.job.parts[0]!.received);
      assert.ok(stored.nodeEvents.some((event) => event.event === 'checkpoint'));
    },
  });
  assert.ok(followed.seen, followed.stderr);
  await killByPidFile(cluster.head, 'head.json');
  await startClusterHead();
  assert.equal((await show('paused')).status, 'stopped', 'the stopped record survived the kill');

  const before = await logs('paused');
  const checkpoint = newestCheckpoint(before);
  const resumed = await jobs(['resume', 'paused', '--follow']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed training job paused on node trainer/);
  assertResumedFrom(checkpoint, { before, all: await logs('paused') }, 150);
  assert.equal((await show('paused')).status, 'succeeded');

  const image = path.join(cluster.head.home, 'loss.png');
  const plotted = await jobs(['plot', 'paused', '--output', image]);
  assert.equal(plotted.code, 0, plotted.stderr);
  assert.match(plotted.stdout, /steps 1-150 \(x\)/);
  const png = await fs.readFile(image);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');

  const nodeJob = path.join(cluster.nodes.get(NODE)!.home, 'jobs', 'paused');
  await fs.access(nodeJob);
  const removed = await jobs(['rm', 'paused']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed job paused \(its files on node trainer: removed\)/);
  await assert.rejects(fs.access(nodeJob), 'the folder on the node is gone');
  await assert.rejects(fs.access(path.join(cluster.head.home, 'cluster-jobs', 'paused')));
  const gone = await jobs(['show', 'paused']);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /training job paused is not known to this head/);
});

test('NATS: a head killed -9 while it deploys a finished job deploys it once after the restart', {
  timeout: 300_000,
}, async () => {
  const started = await cluster.head.run([...job('shipped', 8), '--deploy', 'shipped_chat']);
  assert.equal(started.code, 0, started.stderr);
  // The head's first deployment event says it began deploying (saved before it deploys): kill it then.
  const followed = await followUntilEvent(cluster, {
    name: 'shipped',
    event: 'deployment',
    onEvent: () => killByPidFile(cluster.head, 'head.json'),
  });
  assert.ok(followed.seen, followed.stderr);
  await startClusterHead();
  const finished = await jobs(['logs', 'shipped', '--follow']);
  assert.equal(finished.code, 0, finished.stderr);
  const record = await show('shipped');
  assert.equal(record.status, 'succeeded');
  assert.deepEqual(record.deployment, { name: 'shipped_chat', status: 'deployed' });
  const deployments = (await logs('shipped')).filter((event) => event.event === 'deployment');
  assert.equal(deployments[0]!.status, 'deploying');
  assert.deepEqual(
    deployments.filter((event) => event.status !== 'deploying').map((event) => event.status),
    ['deployed'],
    'one outcome',
  );
  try {
    // One worker of it runs on the node: the first head's (if it had started) was stopped.
    const nodeLog = await fs.readFile(path.join(cluster.nodes.get(NODE)!.home, 'logs', 'node.log'), 'utf8');
    const startedIds = [...nodeLog.matchAll(/started worker shipped_chat#0 as (\S+)/g)].map(
      (match) => match[1]!,
    );
    const stoppedIds = [...nodeLog.matchAll(/stopping (\S+), placed by the previous head/g)].map(
      (match) => match[1]!,
    );
    assert.equal(
      startedIds.filter((id) => !stoppedIds.includes(id)).length,
      1,
      `one live worker of shipped_chat on the node:\n${nodeLog}`,
    );
    const answered = await cluster.head.run([
      'query',
      '--address',
      cluster.nats.url,
      '--model',
      'shipped_chat',
      '--query',
      'What is the capital of France?',
    ]);
    assert.equal(answered.code, 0, answered.stderr);
  } finally {
    const removed = await cluster.head.run([
      'undeploy',
      '--address',
      cluster.nats.url,
      '--model',
      'shipped_chat',
    ]);
    assert.equal(removed.code, 0, removed.stderr);
  }
});

test('NATS: head and node agent killed while a job runs: the restarted head fails it with the reason', {
  timeout: 300_000,
}, async () => {
  const started = await cluster.head.run(job('stranded', 100_000));
  assert.equal(started.code, 0, started.stderr);
  const followed = await followUntilEvent(cluster, {
    name: 'stranded',
    event: 'step',
    onEvent: async () => {
      orphans.push((await show('stranded')).supervisorPid as number);
      await killByPidFile(cluster.head, 'head.json');
      await killByPidFile(cluster.nodes.get(NODE)!, 'node.json');
    },
  });
  assert.ok(followed.seen, followed.stderr);
  await startClusterHead();
  const finished = await jobs(['logs', 'stranded', '--follow']);
  assert.notEqual(finished.code, 0);
  assert.match(
    finished.stderr,
    /training job stranded failed: head restarted while the job was running; node trainer did not report it/,
  );
  const record = await show('stranded');
  assert.equal(record.status, 'failed');
  assert.match(
    String(record.reason),
    /^head restarted while the job was running; node trainer did not report it/,
  );
});
