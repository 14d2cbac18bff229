/**
 * Continued pretraining on a text corpus with 2 workers: a worker killed with SIGKILL mid-job fails
 * the job with that reason; `jobs resume` continues from the newest checkpoint (the step and the
 * loss go on from there); by the end the eval loss is lower than before training.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ensureTinyHfModel,
  followTrainingJob,
  getTrainingJob,
  type ProgressEvent,
} from '../../src/train/index.js';
import { createTestHome, type TestHome } from '../support/cli.js';

let home: TestHome;
let basePath: string;
let corpus: string;

before(async () => {
  home = await createTestHome();
  basePath = (await ensureTinyHfModel(path.join(home.home, 'models'))).path;
  corpus = path.join(home.home, 'corpus.txt');
  await fs.writeFile(
    corpus,
    Array.from({ length: 60 }, (_, index) => SENTENCES[index % SENTENCES.length]).join('\n'),
  );
});
after(async () => {
  await home.cleanup();
});

const SENTENCES = [
  'the model can write the answer for you.',
  'hello byzer, the water is hot today.',
  'people call the first number one.',
  'we use the model to find the word.',
];

test('kill -9 of a worker fails the job with the reason; resume continues from the checkpoint; eval loss falls', {
  timeout: 600_000,
}, async () => {
  const started = await home.run([
    'pretrain',
    '--model_path',
    basePath,
    '--data',
    corpus,
    '--name',
    'pre',
    '--num_workers',
    '2',
    '--batch_size',
    '2',
    '--lr',
    '0.003',
    '--max_steps',
    '60',
    '--save_steps',
    '10',
    '--max_seq_length',
    '64',
    '--eval_ratio',
    '0.2',
  ]);
  assert.equal(started.code, 0, started.stderr);
  const stateDirectory = home.home;

  // Wait for the first checkpoint, then kill worker 1 the hard way.
  let killed: number | undefined;
  const events: ProgressEvent[] = [];
  const first = followTrainingJob('pre', { stateDirectory, intervalMs: 100 });
  for (;;) {
    const next = await first.next();
    if (next.done) {
      assert.equal(next.value.status, 'failed', 'the job ended only because a worker was killed');
      break;
    }
    events.push(next.value);
    if (next.value.event === 'checkpoint' && killed === undefined) {
      const record = await getTrainingJob('pre', { stateDirectory });
      killed = record.workerPids[1]!;
      process.kill(killed, 'SIGKILL');
    }
  }
  const failed = await getTrainingJob('pre', { stateDirectory });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.reason, `worker 1 (pid ${killed}) was killed by SIGKILL`);
  const shown = await home.run(['jobs', 'list']);
  assert.match(shown.stdout, /pre\s+pretrain\s+failed: worker 1 \(pid \d+\) was killed by SIGKILL/);

  const stepsBefore = events.filter((event) => event.event === 'step');
  const checkpointStep = Math.max(
    ...events.filter((event) => event.event === 'checkpoint').map((event) => Number(event.step)),
  );
  const resumed = await home.run(['jobs', 'resume', 'pre', '--follow']);
  assert.equal(resumed.code, 0, resumed.stderr);

  const all = (await home.run(['jobs', 'logs', 'pre'])).stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ProgressEvent);
  const resumeIndex = all.findIndex((event) => event.event === 'resumed');
  assert.ok(resumeIndex > 0, 'the trainer reported resuming');
  assert.equal(all[resumeIndex]!.step, checkpointStep);
  const after = all.slice(resumeIndex).filter((event) => event.event === 'step');
  assert.equal(after[0]!.step, checkpointStep + 1, 'training went on from the checkpoint');
  assert.equal(after.at(-1)!.step, 60);
  const loss = (event: ProgressEvent | undefined) => Number(event?.loss);
  const startLoss = loss(stepsBefore[0]);
  const atCheckpoint = loss(stepsBefore.find((event) => event.step === checkpointStep));
  assert.ok(
    Math.abs(loss(after[0]) - atCheckpoint) < Math.abs(loss(after[0]) - startLoss),
    `the loss went on from ${atCheckpoint} (now ${loss(after[0])}), not from the start (${startLoss})`,
  );
  const evals = all.filter((event) => event.event === 'eval').map((event) => Number(event.eval_loss));
  assert.ok(evals.length >= 2);
  assert.ok(evals.at(-1)! < evals[0]! * 0.8, `eval loss fell from ${evals[0]} to ${evals.at(-1)}`);
  const record = await getTrainingJob('pre', { stateDirectory });
  assert.equal(record.status, 'succeeded');
  assert.equal(record.attempts, 2);
  assert.ok(record.outputs && (await fs.stat(record.outputs.gguf)).size > 0);
});

test('jobs stop ends a running job and its workers; jobs rm deletes it', { timeout: 300_000 }, async () => {
  const started = await home.run([
    'pretrain',
    '--model_path',
    basePath,
    '--data',
    corpus,
    '--name',
    'long',
    '--num_workers',
    '2',
    '--batch_size',
    '2',
    '--max_steps',
    '100000',
    '--max_seq_length',
    '64',
  ]);
  assert.equal(started.code, 0, started.stderr);
  const events = followTrainingJob('long', { stateDirectory: home.home, intervalMs: 100 });
  for (;;) {
    const next = await events.next();
    assert.ok(!next.done, 'the job runs until stopped');
    if (next.value.event === 'step') break;
  }
  const stopped = await home.run(['jobs', 'stop', 'long']);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(
    stopped.stdout.trim(),
    'job long is stopped',
    JSON.stringify(await getTrainingJob('long', { stateDirectory: home.home })),
  );
  const record = await getTrainingJob('long', { stateDirectory: home.home });
  assert.equal(record.reason, 'stopped by request');
  for (const pid of record.workerPids)
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
  const removed = await home.run(['jobs', 'rm', 'long']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.doesNotMatch((await home.run(['jobs', 'list'])).stdout, /long/);
});
