/**
 * The cluster API behaves the same in-process (`Head`) and over the admin HTTP API (`HeadClient`):
 * deploy, list, stat, meta, call, stream, undeploy, errors with their classes, persistence.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import {
  attachStreamChannel,
  type ClusterApi,
  createAdminApi,
  createInProcessTransport,
  DeploymentStore,
  Head,
  HeadClient,
} from '../../src/cluster/index.js';
import { ByzerLLMError, type DeploymentSpecInput } from '../../src/core/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

interface Setup {
  cluster: ClusterApi;
  directory: string;
  close(): Promise<void>;
}

const resources = { cpus: 2, memoryBytes: 2 ** 34, gpus: [] };

async function headIn(directory: string): Promise<Head> {
  const head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources,
  });
  await head.restore();
  return head;
}

async function overAdminApi(options: { streamChannel: boolean }): Promise<Setup> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-head-'));
  const head = await headIn(directory);
  const app = createAdminApi({ cluster: head, token: 'secret-token' });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  if (options.streamChannel) attachStreamChannel(server, { cluster: head, token: 'secret-token' });
  await new Promise((resolve) => server.once('listening', resolve));
  const client = new HeadClient({
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 'secret-token',
  });
  return {
    cluster: client,
    directory,
    close: async () => {
      await client.close();
      await new Promise((resolve) => server.close(resolve));
      await head.close();
    },
  };
}

const setups: Record<string, () => Promise<Setup>> = {
  'in-process Head': async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-head-'));
    const head = await headIn(directory);
    return { cluster: head, directory, close: () => head.close() };
  },
  // `HeadClient.stream` over the stream channel the head attaches (`byzerllm head`), and over the
  // HTTP route where the server has no channel (404 to the upgrade).
  'HeadClient over the admin API and its stream channel': () => overAdminApi({ streamChannel: true }),
  'HeadClient over the admin API without a stream channel': () => overAdminApi({ streamChannel: false }),
};

for (const [name, create] of Object.entries(setups)) {
  describe(`cluster API: ${name}`, () => {
    let upstream: OpenAIUpstream;
    let setup: Setup;
    const spec = (overrides: Partial<DeploymentSpecInput> = {}): DeploymentSpecInput => ({
      name: 'gpt_chat',
      pretrainedModelType: 'saas/openai',
      numWorkers: 2,
      workerConcurrency: 4,
      inferParams: {
        'saas.api_key': upstream.apiKey,
        'saas.model': 'm',
        'saas.base_url': upstream.url,
        'saas.max_retries': '0',
      },
      ...overrides,
    });

    before(async () => {
      upstream = await startOpenAIUpstream();
      setup = await create();
    });
    after(async () => {
      await setup.close();
      await upstream.close();
      await fs.rm(setup.directory, { recursive: true, force: true });
    });

    test('deploy, call, stream and stat', async () => {
      const outcome = await setup.cluster.deploy(spec());
      assert.equal(outcome.status, 'deployed');
      assert.equal(outcome.deployment.inferParams['saas.api_key'], '******');
      assert.equal(outcome.deployment.workers.length, 2);
      const result = await setup.cluster.call('gpt_chat', 'chat', {
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(result.text, 'echo: hi');
      let streamed = '';
      for await (const part of await setup.cluster.stream('gpt_chat', {
        messages: [{ role: 'user', content: 'yo' }],
      })) {
        if (part.type === 'text-delta') streamed += part.delta;
      }
      assert.equal(streamed, 'echo: yo');
      const stat = await setup.cluster.stat('gpt_chat');
      assert.equal(stat.total_workers, 2);
      assert.equal(
        stat.total_requests.reduce((sum, count) => sum + count, 0),
        2,
      );
      assert.deepEqual(stat.state, [4, 4]);
    });

    test('generation defaults fill what a request leaves unset; the request wins; meta carries them', async () => {
      await setup.cluster.deploy(
        spec({
          name: 'defaults',
          numWorkers: 1,
          generationDefaults: {
            temperature: '0.2',
            max_tokens: '64',
            'gen.stop': '["END"]',
            repetition_penalty: '1.1',
          },
          template: 'qwen',
        }),
      );
      upstream.reset();
      await setup.cluster.call('defaults', 'chat', { messages: [{ role: 'user', content: 'a' }] });
      await setup.cluster.call('defaults', 'chat', {
        messages: [{ role: 'user', content: 'b' }],
        temperature: 0.9,
        extra: { repetition_penalty: 1.3 },
      });
      let streamed = '';
      for await (const part of await setup.cluster.stream('defaults', {
        messages: [{ role: 'user', content: 'c' }],
      })) {
        if (part.type === 'text-delta') streamed += part.delta;
      }
      assert.equal(streamed, 'echo: c');
      const bodies = upstream.requests.map((request) => request.body as Record<string, unknown>);
      assert.deepEqual(
        bodies.map((body) => [body.temperature, body.max_tokens, body.stop, body.repetition_penalty]),
        [
          [0.2, 64, ['END'], 1.1],
          [0.9, 64, ['END'], 1.3],
          [0.2, 64, ['END'], 1.1],
        ],
      );
      const meta = await setup.cluster.meta('defaults');
      assert.equal(meta.deployment_template, 'qwen');
      assert.deepEqual(
        (await setup.cluster.list()).find((item) => item.name === 'defaults')?.generationDefaults,
        {
          temperature: '0.2',
          max_tokens: '64',
          'gen.stop': '["END"]',
          repetition_penalty: '1.1',
        },
      );
      await assert.rejects(
        setup.cluster.deploy(spec({ name: 'bad_template', template: 'mistral' as never })),
        (error: ByzerLLMError) => error.code === 'invalid_argument' && /template/.test(error.message),
      );
      await setup.cluster.undeploy('defaults');
    });

    test('deploying an existing name changes nothing; a different spec is named in a warning', async () => {
      const same = await setup.cluster.deploy(spec());
      assert.equal(same.status, 'already_deployed');
      assert.deepEqual(same.warnings, [], 'the same spec again: nothing to say');
      const again = await setup.cluster.deploy(
        spec({
          numWorkers: 5,
          inferParams: { ...spec().inferParams, 'saas.api_key': 'sk-another-secret', 'saas.model': 'other' },
        }),
      );
      assert.equal(again.status, 'already_deployed');
      assert.equal((await setup.cluster.stat('gpt_chat')).total_workers, 2);
      assert.equal(again.warnings.length, 1);
      const [warning] = again.warnings;
      assert.match(warning!, /^deployment gpt_chat exists with a different spec: /);
      assert.match(warning!, /numWorkers 2 \(this deploy asked for 5\)/);
      assert.match(warning!, /inferParams\.saas\.api_key, inferParams\.saas\.model/);
      assert.match(warning!, /undeploy it first/);
      assert.doesNotMatch(warning!, /sk-another-secret|other|"m"/, 'values inside inferParams are not shown');
    });

    test('40 concurrent calls use both workers and never exceed 4 in flight on one', async () => {
      const beforeStat = await setup.cluster.stat('gpt_chat');
      const before = beforeStat.total_requests;
      upstream.reset();
      await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          setup.cluster.call('gpt_chat', 'chat', {
            messages: [{ role: 'user', content: `delay:250 q${index}` }],
          }),
        ),
      );
      const stat = await setup.cluster.stat('gpt_chat');
      const added = stat.total_requests.map((count, index) => count - before[index]!);
      assert.equal(added[0]! + added[1]!, 40);
      assert.ok(added[0]! > 0 && added[1]! > 0, `both workers used: ${added}`);
      assert.deepEqual(
        stat.worker_state.map((worker) => worker.peak_active_task),
        [4, 4],
      );
      assert.equal(upstream.peakInFlight(), 8);
      // The per-worker recorder saw them finish, each taking at least the upstream's 250 ms.
      const finished = stat.worker_metrics.map(
        (worker, index) => worker.finished_requests - beforeStat.worker_metrics[index]!.finished_requests,
      );
      assert.equal(finished[0]! + finished[1]!, 40);
      for (const worker of stat.worker_metrics) {
        assert.ok(worker.latency_p50_ms! >= 250, `p50 ${worker.latency_p50_ms}`);
        assert.ok(worker.latency_p95_ms! >= worker.latency_p50_ms!);
        assert.ok(worker.tokens_per_second! > 0, `tokens/s ${worker.tokens_per_second}`);
      }
    });

    test('unknown deployments and upstream failures keep their error codes', async () => {
      await assert.rejects(setup.cluster.stat('nope'), (error: ByzerLLMError) => {
        assert.ok(error instanceof ByzerLLMError);
        assert.equal(error.code, 'not_found');
        assert.match(error.message, /no deployment named nope; deployed: gpt_chat/);
        return true;
      });
      await assert.rejects(
        setup.cluster.call('gpt_chat', 'chat', { messages: [{ role: 'user', content: 'fail:500' }] }),
        (error: ByzerLLMError) => error.code === 'upstream_error' && error.isRetryable,
      );
      await assert.rejects(
        setup.cluster.deploy(spec({ name: 'bad', pretrainedModelType: 'saas/nope' })),
        (error: ByzerLLMError) => error.code === 'invalid_argument' && /saas\/openai/.test(error.message),
      );
      await assert.rejects(
        setup.cluster.deploy(spec({ name: 'bad', numWorkers: 0 })),
        (error: ByzerLLMError) => error.code === 'invalid_argument' && /numWorkers 0/.test(error.message),
      );
    });

    test('a capacity error names the deployment when every slot stays busy', async () => {
      await setup.cluster.deploy(
        spec({ name: 'tiny', numWorkers: 1, workerConcurrency: 1, queueTimeoutSeconds: 0.05 }),
      );
      const slow = setup.cluster.call('tiny', 'chat', {
        messages: [{ role: 'user', content: 'delay:400 slow' }],
      });
      await upstream.waitUntil(() => upstream.inFlight() >= 1);
      await assert.rejects(
        setup.cluster.call('tiny', 'chat', { messages: [{ role: 'user', content: 'next' }] }),
        (error: ByzerLLMError) =>
          error.code === 'capacity_exhausted' && /deployment tiny/.test(error.message),
      );
      await slow;
      assert.deepEqual(await setup.cluster.undeploy('tiny'), { removed: true });
    });

    test('deployments persist with secrets apart, and come back in a new head', async () => {
      const deployments = await fs.readFile(path.join(setup.directory, 'deployments.json'), 'utf8');
      assert.ok(!deployments.includes(upstream.apiKey), 'the api key is not in deployments.json');
      const secrets = await fs.stat(path.join(setup.directory, 'secrets.json'));
      assert.equal(secrets.mode & 0o777, 0o600);
      const second = await headIn(setup.directory);
      try {
        assert.equal((await second.stat('gpt_chat')).total_workers, 2);
        const answer = await second.call('gpt_chat', 'chat', {
          messages: [{ role: 'user', content: 'back' }],
        });
        assert.equal(answer.text, 'echo: back');
      } finally {
        await second.close();
      }
    });

    test('undeploy lets running requests finish; --force does not wait for them', async () => {
      const order: string[] = [];
      await setup.cluster.deploy(spec({ name: 'drain', numWorkers: 1, workerConcurrency: 1 }));
      const running = setup.cluster
        .call('drain', 'chat', { messages: [{ role: 'user', content: 'delay:300 finishing' }] })
        .then((result) => order.push(`call: ${result.text}`));
      await upstream.waitUntil(() => upstream.inFlight() >= 1);
      await setup.cluster.undeploy('drain');
      order.push('undeployed');
      await running;
      assert.deepEqual(order, ['call: echo: delay:300 finishing', 'undeployed']);

      order.length = 0;
      await setup.cluster.deploy(spec({ name: 'drain', numWorkers: 1, workerConcurrency: 1 }));
      const forced = setup.cluster
        .call('drain', 'chat', { messages: [{ role: 'user', content: 'delay:2000 cut short' }] })
        .then(
          () => order.push('call finished'),
          () => order.push('call failed'),
        );
      await upstream.waitUntil(() => upstream.inFlight() >= 1);
      const abortedBefore = upstream.abortedCount();
      await setup.cluster.undeploy('drain', { force: true });
      order.push('undeployed');
      await forced;
      assert.deepEqual(order.sort(), ['call failed', 'undeployed']);
      await upstream.waitUntil(() => upstream.abortedCount() > abortedBefore);
    });

    test('undeploy removes the deployment and its persisted record', async () => {
      assert.deepEqual(await setup.cluster.undeploy('gpt_chat'), { removed: true });
      assert.deepEqual(await setup.cluster.undeploy('gpt_chat'), { removed: false });
      assert.deepEqual(await setup.cluster.list(), []);
      const persisted = JSON.parse(await fs.readFile(path.join(setup.directory, 'deployments.json'), 'utf8'));
      assert.deepEqual(persisted.deployments, []);
    });
  });
}
