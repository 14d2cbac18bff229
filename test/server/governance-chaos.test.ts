/**
 * Routing configs end to end, as a user runs them: the real CLI sets a fallback route on the real
 * head, `byzerllm serve` opens the gateway, and 1,000 requests go through it to two loopback
 * OpenAI upstreams — one answering 429 or 500 to every other request, one dead (nothing listens).
 * Every request succeeds, the dead deployment is cooled down, and `route stat` and `/metrics` say so.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestHome, type TestHome } from '../support/cli.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';
import { setCachedRoute, startServe, streamedChunks, streamedContent } from '../support/routed-gateway.js';

const REQUESTS = 1000;
const CONCURRENCY = 16;

/** A port nothing listens on: taken from the OS, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface TargetView {
  deployment: string;
  coolingDown: boolean;
  cooldowns: number;
  successes: number;
  failures: number;
}

describe('routing configs through byzerllm serve (real CLI, head and loopback upstreams)', () => {
  let flaky: OpenAIUpstream;
  let steady: OpenAIUpstream;
  let home: TestHome;
  let serve: ChildProcess | undefined;
  let baseURL: string;

  before(async () => {
    // Half the requests fail, at random (a fixed pattern can keep failing the same client in
    // lockstep): 429 (Retry-After: 1) or 500, a quarter each.
    flaky = await startOpenAIUpstream({
      recordRequests: false,
      failureOf: () => {
        const draw = Math.random();
        return draw < 0.25 ? { status: 429, retryAfter: '1' } : draw < 0.5 ? { status: 500 } : undefined;
      },
    });
    steady = await startOpenAIUpstream({ apiKey: flaky.apiKey });
    home = await createTestHome();
    const targets = [
      ['steady', steady.url],
      ['flaky', flaky.url],
      ['dead', `http://127.0.0.1:${await deadPort()}/v1`],
    ];
    for (const [name, url] of targets) {
      const deployed = await home.run([
        'deploy',
        '--pretrained_model_type',
        'saas/openai',
        '--infer_params',
        `saas.api_key=${flaky.apiKey}`,
        'saas.model=m',
        `saas.base_url=${url}`,
        // The route retries, not the engine: each failure must reach the router.
        'saas.max_retries=0',
        '--model',
        name!,
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
    }
    const routeFile = path.join(home.home, 'route.yaml');
    await fs.writeFile(
      routeFile,
      [
        'strategy: fallback',
        'cooldown: { failures: 3, window_seconds: 60, cooldown_seconds: 300 }',
        'targets:',
        '  - deployment: dead',
        '  - deployment: flaky',
        // 31 tries: all failing has odds 2^-31 per request.
        '    retries: 30',
        '    timeout_ms: 20000',
      ].join('\n'),
    );
    const set = await home.run(['route', 'set', 'chaos/chat', '--file', routeFile]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'route chaos/chat created\n');

    await setCachedRoute(home, 'steady');
    const started = await startServe(home);
    serve = started.child;
    baseURL = started.baseURL;
  });
  after(async () => {
    serve?.kill('SIGKILL');
    await home.cleanup();
    await flaky.close();
    await steady.close();
  });

  test('route set/get/list store the config on the head, validated', async () => {
    const got = await home.run(['route', 'get', 'chaos/chat']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^strategy: fallback\n/m);
    assert.match(got.stdout, /deployment: flaky\n\s+retries: 30/);
    const listed = await home.run(['route', 'list']);
    assert.deepEqual(JSON.parse(listed.stdout), [
      { name: 'cached', strategy: 'single' },
      { name: 'chaos/chat', strategy: 'fallback' },
    ]);
    const stored = JSON.parse(await fs.readFile(path.join(home.home, 'routes.json'), 'utf8'));
    assert.deepEqual(Object.keys(stored.routes), ['cached', 'chaos/chat']);

    const badFile = path.join(home.home, 'bad.yaml');
    await fs.writeFile(badFile, 'strategy: single\ntargets: [{ deployment: a }, { deployment: b }]\n');
    const bad = await home.run(['route', 'set', 'broken', '--file', badFile]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid route at targets: strategy single takes exactly one target/);
    const missing = await home.run(['route', 'rm', 'never-set']);
    assert.equal(missing.code, 3, missing.stderr);
  });

  test('1,000 requests through a fallback over a flaky and a dead target all succeed', async () => {
    let next = 0;
    let attempts = 0;
    const statuses = new Map<number, number>();
    const deployments = new Set<string>();
    const worker = async () => {
      while (next < REQUESTS) {
        const index = next++;
        const response = await fetch(`${baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'chaos/chat', messages: [{ role: 'user', content: `n${index}` }] }),
        });
        const body = (await response.json()) as {
          model: string;
          choices: { message: { content: string } }[];
        };
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status !== 200) continue;
        assert.equal(body.model, 'chaos/chat');
        assert.equal(body.choices[0]!.message.content, `echo: n${index}`);
        deployments.add(response.headers.get('x-byzerllm-deployment')!);
        attempts += Number(response.headers.get('x-byzerllm-attempts'));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual([...statuses], [[200, REQUESTS]]);
    assert.deepEqual([...deployments], ['flaky']);
    // Every other upstream answer is a failure, so about two tries per request, plus the dead ones.
    assert.ok(attempts > REQUESTS * 1.5, `attempts ${attempts}`);

    const stat = await home.run(['route', 'stat']);
    const targets = (JSON.parse(stat.stdout) as { targets: TargetView[] }).targets;
    const dead = targets.find((target) => target.deployment === 'dead')!;
    const flakyView = targets.find((target) => target.deployment === 'flaky')!;
    assert.equal(dead.coolingDown, true);
    assert.equal(dead.successes, 0);
    // Tried by the first requests until cooled down, then left alone (at most one try per request in flight).
    assert.ok(dead.failures >= 3 && dead.failures <= 3 + CONCURRENCY, `dead tried ${dead.failures} times`);
    assert.equal(flakyView.successes, REQUESTS);
    assert.ok(flakyView.cooldowns >= 1, 'a 429 cools the flaky target down');

    const deadStat = await home.run(['stat', '--model', 'dead']);
    assert.equal(deadStat.code, 0, deadStat.stderr);
    const routing = (JSON.parse(deadStat.stdout) as { routing: TargetView }).routing;
    assert.equal(routing.coolingDown, true);
    assert.equal(routing.failures, dead.failures);

    const metrics = await (await fetch(`${baseURL.replace(/\/v1$/, '')}/metrics`)).text();
    assert.match(metrics, /^byzerllm_route_target_cooling_down\{deployment="dead"\} 1$/m);
    assert.match(metrics, /^byzerllm_route_target_cooldowns_total\{deployment="dead"\} [1-9]/m);
    assert.match(
      metrics,
      new RegExp(
        `^byzerllm_route_target_tries_total\\{deployment="flaky",outcome="success"\\} ${REQUESTS}$`,
        'm',
      ),
    );
  });

  test('a streamed request through the route skips failed tries and streams one answer', async () => {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'chaos/chat',
        stream: true,
        messages: [{ role: 'user', content: 'streamed' }],
      }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-byzerllm-deployment'), 'flaky');
    const text = await response.text();
    const content = streamedChunks(text)
      .map((chunk) => {
        assert.equal(chunk.model, 'chaos/chat');
        return chunk.choices[0]?.delta.content ?? '';
      })
      .join('');
    assert.equal(content, 'echo: streamed');
    assert.ok(text.endsWith('data: [DONE]\n\n'));
  });

  test('a plain deployment name still goes straight to the deployment, without route headers', async () => {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dead', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.ok(response.status >= 500, `status ${response.status}`);
    assert.equal(response.headers.get('x-byzerllm-attempts'), null);
    await response.body?.cancel();
  });

  test('a route with a cache answers repeated requests without reaching the upstream', async () => {
    const ask = (extra: Record<string, unknown>, headers: Record<string, string> = {}) =>
      fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'cached', messages: [{ role: 'user', content: 'same' }], ...extra }),
      });
    const chatRequests = () =>
      steady.requests.filter((request) => request.path === '/v1/chat/completions').length;
    const first = await ask({});
    assert.equal(first.headers.get('x-byzerllm-cache'), 'miss');
    const firstBody = (await first.json()) as { choices: { message: { content: string } }[] };
    assert.equal(chatRequests(), 1);

    const second = await ask({});
    assert.equal(second.headers.get('x-byzerllm-cache'), 'hit');
    assert.equal(second.headers.get('x-byzerllm-attempts'), null);
    const secondBody = (await second.json()) as {
      model: string;
      choices: { message: { content: string } }[];
    };
    assert.equal(secondBody.model, 'cached');
    assert.equal(secondBody.choices[0]!.message.content, firstBody.choices[0]!.message.content);

    const streamed = await ask({ stream: true });
    assert.equal(streamed.headers.get('x-byzerllm-cache'), 'hit');
    const text = await streamed.text();
    assert.equal(streamedContent(text), 'echo: same');
    assert.equal(chatRequests(), 1, 'hits never reach the upstream');

    const skipped = await ask({}, { 'cache-control': 'no-cache' });
    assert.equal(skipped.headers.get('x-byzerllm-cache'), null);
    await skipped.json();
    const skippedToo = await ask({}, { 'x-byzerllm-cache': 'skip' });
    await skippedToo.json();
    assert.equal(chatRequests(), 3);
    const otherParameters = await ask({ temperature: 0.5 });
    assert.equal(otherParameters.headers.get('x-byzerllm-cache'), 'miss');
    await otherParameters.json();
    assert.equal(chatRequests(), 4);

    const metrics = await (await fetch(`${baseURL.replace(/\/v1$/, '')}/metrics`)).text();
    assert.match(metrics, /^byzerllm_route_cache_requests_total\{route="cached",result="hit"\} 2$/m);
    assert.match(metrics, /^byzerllm_route_cache_requests_total\{route="cached",result="miss"\} 2$/m);
  });
});
