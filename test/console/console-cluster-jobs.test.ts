/**
 * The Jobs page on a NATS cluster's head: nats-server, a `--head_only` head and one node agent (real
 * processes sharing a cluster key), `byzerllm console` opened on the head, and a real CPU torch
 * training job placed on the node by `finetune --address` while the page is open. The page lists it
 * with its node, and its loss chart and log grow from the progress the node reports to the head.
 * Then a console opened off the head (`console --address nats://…`) shows the same job over NATS,
 * and jobs run on the head's own machine are listed beside it (a name on both once, as placed).
 * The tests run in order: each reads the jobs the ones before it left.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openWatchedPage } from '../support/console-browser.js';
import {
  type OpenedConsole,
  openConsoleWithBrowser,
  recordValues,
  saveEveryWidth,
  startConsoleCommand,
  stopChild,
  WIDTHS,
} from '../support/console-pages.js';
import { finetuneFlags, startTrainingCluster, type TrainingCluster } from '../support/training-cluster.js';

const NODE = 'trainer';
const STEPS = 200;

let training: TrainingCluster;
let opened: OpenedConsole | undefined;

before(async () => {
  training = await startTrainingCluster([NODE]);
  // No API key: this test is about the Jobs page, the login is covered by console.test.ts.
  opened = await openConsoleWithBrowser(training.cluster.head);
});

after(async () => {
  await opened?.close();
  await training?.close();
});

test('a job placed on a node over NATS is listed with its node, and its loss chart and log grow live', {
  timeout: 600_000,
}, async () => {
  const { cluster, basePath, data } = training;
  const { page, problems } = await openWatchedPage(opened!.browser, WIDTHS[0]!.viewport);
  await page.goto(`${opened!.url}#/jobs`);
  await page.getByText('No training jobs yet').waitFor();
  const seen = await recordValues(page, '.chart svg', 'data-points');

  const flags = finetuneFlags({
    address: cluster.nats.url,
    basePath,
    data,
    name: 'placed_job',
    maxSteps: STEPS,
    numWorkers: 1,
  });
  const started = await cluster.head.run(flags);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /started training job placed_job on node trainer/);

  await page.getByRole('button', { name: 'placed_job' }).waitFor();
  const row = page.locator('tr', { has: page.getByRole('button', { name: 'placed_job' }) });
  assert.equal(await row.locator('td.node').textContent(), NODE);
  // The first step waits for torch to load on the node: slow on a busy machine.
  await page.getByRole('img', { name: /^Loss of placed_job over/ }).waitFor({ timeout: 240_000 });
  await page.getByText(`On node ${NODE}: the log shows the events the node reported`).waitFor();
  await row.locator('td.status', { hasText: 'succeeded' }).waitFor({ timeout: 480_000 });
  await page.locator(`.chart svg[data-points="${STEPS}"]`).waitFor();

  const counts = (await seen()).map(Number);
  assert.ok(
    counts.filter((count) => count > 0 && count < STEPS).length >= 2,
    `the chart grew while the job ran on the node: ${counts}`,
  );
  assert.deepEqual(
    counts,
    [...counts].sort((left, right) => left - right),
    'it only grows',
  );
  const log = (await page.getByRole('log', { name: 'Log of placed_job' }).textContent()) ?? '';
  assert.match(log, new RegExp(`step step=${STEPS} `));
  assert.match(log, /status status="succeeded"/);
  // The row's step count is the node's record as the head holds it.
  assert.equal(await row.locator('td').nth(4).textContent(), `${STEPS}/${STEPS}`);

  // The head's own machine ran nothing (`--head_only`): the job is listed once, on its node.
  assert.equal(await page.getByRole('button', { name: 'placed_job' }).count(), 1);
  await saveEveryWidth(page, 'jobs-cluster');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('a console opened with --address reads the jobs from the head over NATS: the job above with its node, chart and log', async () => {
  const { cluster } = training;
  // In the command's own process, off the head; the head home's env carries the cluster key.
  const started = await startConsoleCommand(
    cluster.head,
    ['--address', cluster.nats.url, '--console_port', '0'],
    { BYZERLLM_API_KEY: '' },
  );
  try {
    const session = (await (await fetch(`${started.url}console/api/session`)).json()) as {
      features: Record<string, boolean>;
    };
    assert.deepEqual(session.features, { notebook: false, jobs: true, storage: false });
    const { page, problems } = await openWatchedPage(opened!.browser, WIDTHS[1]!.viewport);
    await page.goto(`${started.url}#/jobs`);
    const row = page.locator('tr', { has: page.getByRole('button', { name: 'placed_job' }) });
    await row.locator('td.status', { hasText: 'succeeded' }).waitFor();
    assert.equal(await row.locator('td.node').textContent(), NODE);
    await page.locator(`.chart svg[data-points="${STEPS}"]`).waitFor();
    assert.match(
      (await page.getByRole('log', { name: 'Log of placed_job' }).textContent()) ?? '',
      new RegExp(`step step=${STEPS} `),
    );
    assert.deepEqual(problems, []);
    await page.context().close();
  } finally {
    await stopChild(started.child);
  }
});

test("the head machine's own jobs are listed beside the placed ones; a name on both is listed once, as placed", async () => {
  const { cluster, basePath, data } = training;
  // Run here (no --address) to their end: one new name, and one the placed job above has.
  for (const name of ['here_job', 'placed_job']) {
    const flags = finetuneFlags({ basePath, data, name, maxSteps: 2, numWorkers: 1 });
    const ran = await cluster.head.run([...flags, '--follow']);
    assert.equal(ran.code, 0, ran.stderr);
  }
  const { page, problems } = await openWatchedPage(opened!.browser, WIDTHS[0]!.viewport);
  await page.goto(`${opened!.url}#/jobs`);
  const rowOf = (name: string) =>
    page.locator('tr', { has: page.getByRole('button', { name, exact: true }) });
  await rowOf('here_job').locator('td.status', { hasText: 'succeeded' }).waitFor();
  assert.equal(await rowOf('here_job').locator('td.node').textContent(), "head's machine");
  assert.equal(await rowOf('placed_job').count(), 1);
  assert.equal(await rowOf('placed_job').locator('td.node').textContent(), NODE);
  // The placed job's chart is the node's 200 steps, not the 2 of the job by that name here.
  await rowOf('placed_job').getByRole('button').click();
  await page.locator(`.chart svg[data-points="${STEPS}"]`).waitFor();
  assert.deepEqual(problems, []);
  await page.context().close();
});
