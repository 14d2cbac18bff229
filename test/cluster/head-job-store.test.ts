/**
 * The NATS head's training-job records on disk (head-job-store.ts): saved records and events load
 * back; files are readable by their user only; a torn last event line (a crash mid-append) is
 * dropped; a record that does not parse (here the single-node shape of version 1, which never
 * shipped) is reported and skipped, and the others still load.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { HeadJobStore, type StoredJob } from '../../src/cluster/nats/head-job-store.js';

let directory: string;
before(async () => {
  directory = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-jobs-')), 'cluster-jobs');
});
after(async () => {
  await fs.rm(path.dirname(directory), { recursive: true, force: true });
});

/** A job spread over two nodes: each part keeps its node, ranks and record. */
const stored = (name: string, status: string): StoredJob => ({
  version: 2,
  cpusPerWorker: 1,
  gpusPerWorker: 0,
  parts: [
    { node: 'trainer', firstRank: 0, workers: 2, record: { name, status }, received: 2, lost: false },
    { node: 'second', firstRank: 2, workers: 1, record: { name, status: 'failed' }, received: 0, lost: true },
  ],
  record: { name, status, node: 'trainer', lastStep: { step: 3, totalSteps: 3, loss: 0.25 } },
  deploy: 'served',
});

test('records and events load back, mode 0600 in a 0700 folder; torn and invalid files are skipped', async () => {
  const log: string[] = [];
  const store = new HeadJobStore(directory, (line) => log.push(line));
  await store.save(stored('tuned', 'running'), [{ event: 'step', step: 1, loss: 1.5 }]);
  await store.save(stored('tuned', 'succeeded'), [
    { event: 'step', step: 2, loss: 0.5 },
    { event: 'status', status: 'succeeded' },
  ]);
  await store.save(stored('broken', 'failed'));
  await store.save(stored('gone', 'failed'));
  await store.remove('gone');

  const folder = path.join(directory, 'tuned');
  assert.equal((await fs.stat(folder)).mode & 0o777, 0o700);
  assert.equal((await fs.stat(path.join(folder, 'job.json'))).mode & 0o777, 0o600);
  assert.equal((await fs.stat(path.join(folder, 'events.jsonl'))).mode & 0o777, 0o600);
  // A crash mid-append; a record another program mangled.
  await fs.appendFile(path.join(folder, 'events.jsonl'), '{"event":"step","st');
  await fs.writeFile(
    path.join(directory, 'broken', 'job.json'),
    '{"version":1,"node":"trainer","cpus":2,"gpus":0,"record":{"name":"broken","status":"failed"}}',
  );

  const loaded = await new HeadJobStore(directory, (line) => log.push(line)).load();
  assert.deepEqual(
    loaded.map((job) => job.stored.record.name),
    ['tuned'],
  );
  assert.deepEqual(loaded[0]!.stored, stored('tuned', 'succeeded'));
  assert.deepEqual(
    loaded[0]!.events.map((event) => event.step ?? event.status),
    [1, 2, 'succeeded'],
  );
  assert.equal(log.length, 1);
  assert.match(log[0]!, /skipping the stored training job broken: /);
});
