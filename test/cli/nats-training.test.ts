/**
 * Training jobs on a NATS cluster, through the real CLI: nats-server, a head (`--head_only`, so no
 * job can run on its machine) and one node agent, each a real process with its own $BYZERLLM_HOME,
 * sharing a cluster key (every job message is signed).
 * `finetune --address` is placed by the head on the node, trains there with 2 data-parallel torch
 * workers until the model memorises its answers (checked by serving the registered GGUF on the
 * cluster), and `jobs show|logs --address` from the client read what the node reported. Then a
 * worker killed -9 fails its job with that reason, seen through `jobs show --address`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type CliCluster, followUntilFirstStep } from '../support/cli-cluster.js';
import { untilGone } from '../support/process-watch.js';
import {
  ANSWERS,
  finetuneFlags,
  startTrainingCluster,
  type TrainingCluster,
} from '../support/training-cluster.js';

const NODE = 'trainer';

let training: TrainingCluster;
let cluster: CliCluster;
let basePath: string;
let data: string;

before(async () => {
  training = await startTrainingCluster([NODE]);
  ({ cluster, basePath, data } = training);
});
after(async () => {
  await training?.close();
});

const trainFlags = (name: string, maxSteps: number) =>
  finetuneFlags({ address: cluster.nats.url, basePath, data, name, maxSteps });

test('finetune --address runs on the node, memorises its answers and registers the model there', {
  timeout: 600_000,
}, async () => {
  const { head, nats, nodes } = cluster;
  const started = await head.run([...trainFlags('tuned', 60), '--follow']);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /started training job tuned on node trainer/);
  assert.match(started.stdout, /job tuned succeeded on node trainer: .*models\/tuned\/model\.gguf/);

  const shown = await head.run(['jobs', 'show', 'tuned', '--address', nats.url]);
  assert.equal(shown.code, 0, shown.stderr);
  const record = JSON.parse(shown.stdout) as {
    status: string;
    node: string;
    workerPids: number[];
    outputs: { gguf: string; huggingFace: string };
  };
  assert.equal(record.status, 'succeeded');
  assert.equal(record.node, NODE);
  assert.equal(record.workerPids.length, 2, 'two data-parallel workers ran');
  // Registered under the node's state directory, not the client's.
  const nodeHome = nodes.get(NODE)!.home;
  assert.equal(record.outputs.gguf, path.join(nodeHome, 'models', 'tuned', 'model.gguf'));
  await fs.access(path.join(record.outputs.huggingFace, 'config.json'));

  const logs = await head.run(['jobs', 'logs', 'tuned', '--address', nats.url]);
  const steps = logs.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.event === 'step');
  assert.equal(steps.length, 60, 'every step the node reported reached the head once');

  const listed = await head.run(['jobs', 'list', '--address', nats.url]);
  assert.match(listed.stdout, /tuned\s+finetune\s+succeeded\s+60\/60/);

  const deployed = await head.run([
    'deploy',
    '--address',
    nats.url,
    '--model',
    'tuned_chat',
    '--pretrained_model_type',
    'custom/auto',
    '--infer_backend',
    'llama_cpp',
    '--model_path',
    record.outputs.gguf,
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);
  for (const [question, answer] of ANSWERS) {
    const result = await head.run([
      'query',
      '--address',
      nats.url,
      '--model',
      'tuned_chat',
      '--query',
      question,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), answer, `the answer to ${question}`);
  }
  // Its worker's room goes back for the next job (the node has 2 CPUs, a 2-worker job takes both).
  const removed = await head.run(['undeploy', '--address', nats.url, '--model', 'tuned_chat']);
  assert.equal(removed.code, 0, removed.stderr);
});

test('a worker killed -9 fails the job on the node, and jobs show --address gives the reason', {
  timeout: 300_000,
}, async () => {
  const { head, nats } = cluster;
  const started = await head.run(trainFlags('doomed', 100_000));
  assert.equal(started.code, 0, started.stderr);

  const followed = await followUntilFirstStep(cluster, 'doomed', async () => {
    const shown = await head.run(['jobs', 'show', 'doomed', '--address', nats.url]);
    const running = JSON.parse(shown.stdout) as { status: string; workerPids: number[] };
    assert.equal(running.status, 'running');
    assert.equal(running.workerPids.length, 2);
    process.kill(running.workerPids[1]!, 'SIGKILL');
  });
  assert.ok(followed.stepSeen, `the job reported a step before ending: ${followed.stderr}`);
  assert.notEqual(followed.code, 0, 'following a failed job exits non-zero');
  assert.match(followed.stderr, /training job doomed failed: worker 1 \(pid \d+\) was killed by SIGKILL/);

  const shown = await head.run(['jobs', 'show', 'doomed', '--address', nats.url]);
  const record = JSON.parse(shown.stdout) as { status: string; reason: string };
  assert.equal(record.status, 'failed');
  assert.match(record.reason, /worker 1 \(pid \d+\) was killed by SIGKILL/);
});

test('a node killed -9 fails its running job with the reason "node … was lost", and its job ends with it', {
  timeout: 300_000,
}, async () => {
  const { head, nats, nodes } = cluster;
  const started = await head.run(trainFlags('orphaned', 100_000));
  assert.equal(started.code, 0, started.stderr);
  const nodeFile = path.join(nodes.get(NODE)!.home, 'node.json');
  const { pid: nodePid } = JSON.parse(await fs.readFile(nodeFile, 'utf8')) as { pid: number };
  let running: { supervisorPid: number; workerPids: number[] } | undefined;
  const followed = await followUntilFirstStep(cluster, 'orphaned', async () => {
    const shown = await head.run(['jobs', 'show', 'orphaned', '--address', nats.url]);
    running = JSON.parse(shown.stdout) as { supervisorPid: number; workerPids: number[] };
    process.kill(nodePid, 'SIGKILL');
  });
  assert.ok(followed.stepSeen, followed.stderr);
  assert.notEqual(followed.code, 0, followed.stderr);
  assert.match(followed.stderr, /training job orphaned failed: node trainer was lost/);
  const shown = await head.run(['jobs', 'show', 'orphaned', '--address', nats.url]);
  const record = JSON.parse(shown.stdout) as { status: string; reason: string };
  assert.equal(record.status, 'failed');
  assert.match(record.reason, /^node trainer was lost/);
  // No process of the job outlives its node agent: the supervisor's stdin was the agent's pipe.
  for (const pid of [running!.supervisorPid, ...running!.workerPids]) await untilGone(pid, 30_000);
  const onNode = JSON.parse(
    await fs.readFile(path.join(nodes.get(NODE)!.home, 'jobs', 'orphaned', 'job.json'), 'utf8'),
  ) as { status: string; reason: string };
  assert.equal(onNode.status, 'failed');
  assert.match(onNode.reason, /its node agent \(pid \d+\) exited/);
});
