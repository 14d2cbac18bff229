/**
 * What keeping training-job records costs a NATS head (`src/cluster/nats/head-job-store.ts`): one
 * `save` per progress message that brings events (two step events and the record), against the same
 * file work done raw (append the lines; write, fsync and rename the record). CPU time per save from
 * `process.cpuUsage`, the two measured alternately in rounds (so load from other work on the machine
 * falls on both), then one `load` of the events written.
 *
 *   npx tsc -p . && node dist/bench/cluster/head-job-store.js [saves per round, default 300]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HeadJobStore, type StoredJob } from '../../src/cluster/nats/head-job-store.js';
import { median } from '../process-cpu.js';

const SAVES = Number(process.argv[2] ?? 300);
const ROUNDS = 5;

const record = { name: 'tuned', status: 'running', lastStep: { step: 1, totalSteps: 100, loss: 1.2 } };
// A job spread over two nodes: the record is written with both parts.
const stored: StoredJob = {
  version: 2,
  cpusPerWorker: 1,
  gpusPerWorker: 0,
  parts: [
    { node: 'trainer', firstRank: 0, workers: 2, record, received: 1, lost: false },
    { node: 'second', firstRank: 2, workers: 2, record, received: 1, lost: false },
  ],
  record: { ...record, node: 'trainer' },
};
const event = {
  time: new Date().toISOString(),
  event: 'step',
  step: 1,
  total_steps: 100,
  epoch: 0.1,
  loss: 1.234,
  lr: 0.001,
  tokens_per_second: 1234.5,
  eta_seconds: 12,
};

async function raw(folder: string): Promise<void> {
  await fs.mkdir(folder, { recursive: true, mode: 0o700 });
  await fs.appendFile(
    path.join(folder, 'events.jsonl'),
    `${JSON.stringify(event)}\n${JSON.stringify(event)}\n`,
  );
  const target = path.join(folder, 'job.json');
  const temporary = `${target}.tmp`;
  const handle = await fs.open(temporary, 'w', 0o600);
  await handle.writeFile(`${JSON.stringify(stored, null, 2)}\n`);
  await handle.sync();
  await handle.close();
  await fs.rename(temporary, target);
}

async function cpuPerSave(run: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  for (let index = 0; index < SAVES; index++) await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / SAVES;
}

const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-job-store-bench-'));
try {
  const store = new HeadJobStore(path.join(directory, 'ours'), (line) => console.error(line));
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    baseline.push(await cpuPerSave(() => raw(path.join(directory, 'raw', 'tuned'))));
    ours.push(await cpuPerSave(() => store.save(stored, [event, event])));
  }
  const oursMedian = median(ours);
  const rawMedian = median(baseline);
  console.log(
    `load average: ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  console.log(`raw file work: ${rawMedian.toFixed(0)} µs CPU per save`);
  console.log(
    `HeadJobStore.save: ${oursMedian.toFixed(0)} µs CPU per save (${(oursMedian / rawMedian).toFixed(2)}× raw)`,
  );
  const loadStart = process.cpuUsage();
  const [loaded] = await store.load();
  const loadUsed = process.cpuUsage(loadStart);
  console.log(
    `HeadJobStore.load of ${loaded!.events.length} events: ${((loadUsed.user + loadUsed.system) / 1000).toFixed(1)} ms CPU`,
  );
} finally {
  await fs.rm(directory, { recursive: true, force: true });
}
