/**
 * The Jobs page's event stream shares one poll among its pages: two pages open on the route (in
 * process, `app.request`) over the console's real job view of `$BYZERLLM_HOME/jobs`, a job record
 * on disk that changes, and the job view's list reads let through one at a time by the test (so
 * which read served which page is known without waiting on the clock).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Hono } from 'hono';
import { createConsoleJobs } from '../../src/cli/console-jobs.js';
import type { ConsoleJobs } from '../../src/server/index.js';
import { mountJobsRoutes } from '../../src/server/console/jobs-routes.js';
import { type JobRecord, jobDirectory, trainingOptionsSchema } from '../../src/train/index.js';
import { writeJobRecord } from '../../src/train/job-store.js';

let home: string;
const previousHome = process.env.BYZERLLM_HOME;

before(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-console-jobs-'));
  process.env.BYZERLLM_HOME = home;
});
after(async () => {
  if (previousHome === undefined) delete process.env.BYZERLLM_HOME;
  else process.env.BYZERLLM_HOME = previousHome;
  await fs.rm(home, { recursive: true, force: true });
});

/** Writes job `alpha` as its supervisor would (this process stands in as the live supervisor). */
async function writeAlpha(status: JobRecord['status']): Promise<void> {
  const directory = jobDirectory(home, 'alpha');
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  const now = new Date().toISOString();
  await writeJobRecord(directory, {
    version: 1,
    name: 'alpha',
    kind: 'finetune',
    options: trainingOptionsSchema.parse({
      kind: 'finetune',
      modelPath: '/models/base',
      data: '/data.jsonl',
    }),
    status,
    createdAt: now,
    updatedAt: now,
    attempts: 1,
    supervisorPid: process.pid,
    workerPids: [],
  });
}

/** The console's job view, each `list` read waiting for a permit the test gives. */
class PermittedJobs implements ConsoleJobs {
  reads = 0;
  private permits = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly inner: ConsoleJobs) {}

  async list() {
    this.reads += 1;
    if (this.permits > 0) this.permits -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.inner.list();
  }

  detail(name: string) {
    return this.inner.detail(name);
  }

  permit(count: number): void {
    for (let index = 0; index < count; index++) {
      const next = this.waiting.shift();
      if (next) next();
      else this.permits += 1;
    }
  }
}

/** Reads a page's server-sent events one at a time. */
function eventReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return {
    async next(): Promise<{ event: string; data: unknown }> {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .find((line) => line.startsWith(`${name}: `))
              ?.slice(name.length + 2);
          return { event: field('event') ?? '', data: JSON.parse(field('data') ?? 'null') };
        }
        const { done, value } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffered += decoder.decode(value, { stream: true });
      }
    },
    leave: () => reader.cancel(),
  };
}

const statuses = (view: unknown) =>
  (view as { jobs: Array<{ name: string; status: string }> }).jobs.map((job) => `${job.name}:${job.status}`);

test('two pages share one poll of the job list, both get each change, and the poll stops when both leave', async () => {
  await writeAlpha('running');
  const jobs = new PermittedJobs(createConsoleJobs({ local: true }));
  const app = new Hono();
  // Ticks every 10 ms: a tick during a read only asks for one more read after it.
  const live = mountJobsRoutes(app, jobs, 10)!;

  const first = eventReader(await app.request('/console/api/jobs/events'));
  const second = eventReader(await app.request('/console/api/jobs/events'));
  assert.equal(live.subscriberCount, 2);
  assert.equal(live.polling, true);
  assert.equal(jobs.reads, 1, 'the second page waits for the read the first one started');

  jobs.permit(1);
  for (const page of [first, second]) {
    const { event, data } = await page.next();
    assert.equal(event, 'jobs');
    assert.deepEqual(statuses(data), ['alpha:running']);
  }

  await writeAlpha('succeeded');
  jobs.permit(1);
  for (const page of [first, second])
    assert.deepEqual(statuses((await page.next()).data), ['alpha:succeeded']);
  // Read 1 and read 2 served both pages; the poll may have started read 3 (held) since.
  const reads: number = jobs.reads;
  assert.ok(reads === 2 || reads === 3, `${reads} list reads for two views of two pages`);

  await first.leave();
  assert.equal(live.subscriberCount, 1);
  assert.equal(live.polling, true, 'one page still watches');
  await second.leave();
  assert.equal(live.subscriberCount, 0);
  assert.equal(live.polling, false, 'the last page left: no more reads');
  jobs.permit(1);
});

test('a page opened while the poll runs gets the last view at once, without a read of its own', async () => {
  await writeAlpha('running');
  const jobs = new PermittedJobs(createConsoleJobs({ local: true }));
  const app = new Hono();
  const live = mountJobsRoutes(app, jobs, 60_000)!;
  const first = eventReader(await app.request('/console/api/jobs/events'));
  jobs.permit(1);
  assert.deepEqual(statuses((await first.next()).data), ['alpha:running']);
  const reads = jobs.reads;

  const second = eventReader(await app.request('/console/api/jobs/events'));
  assert.deepEqual(statuses((await second.next()).data), ['alpha:running']);
  assert.equal(jobs.reads, reads);
  await first.leave();
  await second.leave();
  assert.equal(live.polling, false);
});
