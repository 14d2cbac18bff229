/**
 * The route executor and its strategies, with deployments stood in by the executor's own contract
 * (`RouteAttempt`: a deployment name and a signal in, an answer or a `ByzerLLMError` out) and a
 * clock the test moves, so cooldowns are checked at their edges without waiting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Governance,
  parseRouteConfig,
  type RouteAttempt,
  type RouteProgress,
} from '../../src/cluster/index.js';
import { InvalidArgumentError, upstreamErrorFromStatus } from '../../src/core/index.js';

/** Deployments that answer with their name, or fail with the statuses queued for them. */
function deployments(failures: Record<string, number[]> = {}) {
  const tries: string[] = [];
  const attempt: RouteAttempt<string> = async (deployment) => {
    tries.push(deployment);
    const status = failures[deployment]?.shift();
    if (status === undefined) return deployment;
    if (status === 0) throw upstreamErrorFromStatus({ provider: deployment, status: 400, message: 'bad' });
    throw upstreamErrorFromStatus({
      provider: deployment,
      status,
      message: 'failed',
      ...(status === 429 ? { retryAfterSeconds: 2 } : {}),
    });
  };
  return { tries, attempt };
}

function setup(config: unknown, options: { random?: () => number } = {}) {
  let now = 1_000_000;
  const governance = new Governance({
    now: () => now,
    ...(options.random ? { random: options.random } : {}),
  });
  const ready = governance.set('virtual', config);
  return {
    governance,
    advance: (ms: number) => {
      now += ms;
    },
    async run(attempt: RouteAttempt<string>, signal = new AbortController().signal) {
      await ready;
      const progress: RouteProgress = { attempts: 0, deployment: '' };
      const value = await governance.execute(governance.route('virtual')!, attempt, signal, progress);
      return { value, progress };
    },
  };
}

describe('route configs', () => {
  test('parse nested nodes and name the first bad field', () => {
    const config = parseRouteConfig({
      strategy: 'fallback',
      targets: [
        { deployment: 'a', retries: 2, timeout_ms: 100 },
        {
          strategy: 'loadbalance',
          targets: [
            { deployment: 'b', weight: 3 },
            { strategy: 'single', targets: [{ deployment: 'c' }] },
          ],
        },
      ],
    });
    assert.equal(config.targets.length, 2);
    assert.throws(
      () => parseRouteConfig({ strategy: 'single', targets: [{ deployment: 'a' }, { deployment: 'b' }] }),
      /invalid route at targets: strategy single takes exactly one target/,
    );
    assert.throws(
      () =>
        parseRouteConfig({
          strategy: 'loadbalance',
          on: { statuses: [429] },
          targets: [{ deployment: 'a' }],
        }),
      /at on: `on` applies to strategy fallback only/,
    );
    assert.throws(
      () => parseRouteConfig({ strategy: 'fallback', targets: [{ deployment: 'a', retry: 2 }] }),
      (error: unknown) => error instanceof InvalidArgumentError && /targets\.0/.test(error.message),
    );
    assert.throws(
      () =>
        parseRouteConfig({ strategy: 'fallback', targets: [{ deployment: 'a' }], cooldown: { failures: 0 } }),
      /at cooldown\.failures/,
    );
  });
});

/** A fallback over a and b where two failures within 10 s cool a deployment down for 30 s. */
const TWO_IN_TEN_SECONDS = {
  strategy: 'fallback',
  cooldown: { failures: 2, window_seconds: 10, cooldown_seconds: 30 },
  targets: [{ deployment: 'a' }, { deployment: 'b' }],
};

describe('route executor', () => {
  test('fallback moves on after a failure and reports the tries', async () => {
    const route = setup({ strategy: 'fallback', targets: [{ deployment: 'a' }, { deployment: 'b' }] });
    const stand = deployments({ a: [500] });
    const { value, progress } = await route.run(stand.attempt);
    assert.equal(value, 'b');
    assert.deepEqual(progress, { attempts: 2, deployment: 'b' });
  });

  test('fallback with `on` moves on only for the listed statuses or codes', async () => {
    const config = {
      strategy: 'fallback',
      on: { statuses: [429] },
      targets: [{ deployment: 'a' }, { deployment: 'b' }],
    };
    const rateLimited = deployments({ a: [429] });
    assert.equal((await setup(config).run(rateLimited.attempt)).value, 'b');
    const broken = deployments({ a: [500] });
    await assert.rejects(setup(config).run(broken.attempt), { code: 'upstream_error' });
    assert.deepEqual(broken.tries, ['a']);
  });

  test('a non-retryable failure is not retried, but the fallback moves on', async () => {
    const stand = deployments({ a: [0] });
    const route = setup({
      strategy: 'fallback',
      targets: [{ deployment: 'a', retries: 3 }, { deployment: 'b' }],
    });
    assert.equal((await route.run(stand.attempt)).value, 'b');
    assert.deepEqual(stand.tries, ['a', 'b']);
  });

  test("a caller's own error is neither retried nor passed to the fallback, nor held against the target", async () => {
    const tries: string[] = [];
    const attempt: RouteAttempt<string> = async (deployment) => {
      tries.push(deployment);
      throw new InvalidArgumentError('messages must not be empty');
    };
    const route = setup({
      strategy: 'fallback',
      targets: [{ deployment: 'a', retries: 3 }, { deployment: 'b' }],
    });
    await assert.rejects(route.run(attempt), { code: 'invalid_argument' });
    assert.deepEqual(tries, ['a']);
    assert.equal(route.governance.states.get('a').failures, 0);
  });

  test('retries a target on retryable failures, at most `retries` times', async () => {
    const stand = deployments({ a: [500, 503, 500] });
    const route = setup({ strategy: 'single', targets: [{ deployment: 'a', retries: 2 }] });
    await assert.rejects(route.run(stand.attempt), { code: 'upstream_error' });
    assert.deepEqual(stand.tries, ['a', 'a', 'a']);
    const again = deployments({ a: [500, 503] });
    assert.equal(
      (await setup({ strategy: 'single', targets: [{ deployment: 'a', retries: 2 }] }).run(again.attempt))
        .value,
      'a',
    );
  });

  test('a try over its timeout is aborted and fails as a retryable timeout', async () => {
    let abortedTry = false;
    const hanging: RouteAttempt<string> = (deployment, signal) =>
      deployment === 'slow'
        ? new Promise((_, reject) => {
            // A real try holds a socket open until it is aborted; AbortSignal.timeout's timer does
            // not keep the event loop alive, so this stand-in holds a handle as the socket would.
            const socketLike = setInterval(() => {}, 1_000);
            signal.addEventListener('abort', () => {
              clearInterval(socketLike);
              abortedTry = true;
              reject(new Error('aborted'));
            });
          })
        : Promise.resolve(deployment);
    const route = setup({
      strategy: 'fallback',
      targets: [{ deployment: 'slow', timeout_ms: 30 }, { deployment: 'fast' }],
    });
    const { value, progress } = await route.run(hanging);
    assert.equal(value, 'fast');
    assert.equal(progress.attempts, 2);
    assert.equal(abortedTry, true);
    assert.equal(route.governance.states.get('slow').failures, 1);
  });

  test('loadbalance draws by weight', async () => {
    const config = {
      strategy: 'loadbalance',
      targets: [
        { deployment: 'a', weight: 1 },
        { deployment: 'b', weight: 3 },
      ],
    };
    assert.equal((await setup(config, { random: () => 0.2 }).run(deployments().attempt)).value, 'a');
    assert.equal((await setup(config, { random: () => 0.3 }).run(deployments().attempt)).value, 'b');
    assert.equal((await setup(config, { random: () => 0.99 }).run(deployments().attempt)).value, 'b');
  });

  test('least_busy picks the target with the fewest tries in flight', async () => {
    const route = setup({ strategy: 'least_busy', targets: [{ deployment: 'a' }, { deployment: 'b' }] });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const attempt: RouteAttempt<string> = async (deployment) => {
      if (deployment === 'a') await held;
      return deployment;
    };
    const first = route.run(attempt);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(route.governance.states.get('a').inFlight, 1);
    assert.equal((await route.run(attempt)).value, 'b');
    release();
    assert.equal((await first).value, 'a');
    assert.equal(route.governance.states.get('a').inFlight, 0);
  });

  test('latency tries each target once, then prefers the fastest', async () => {
    const route = setup({ strategy: 'latency', targets: [{ deployment: 'a' }, { deployment: 'b' }] });
    const states = route.governance.states;
    assert.equal((await route.run(deployments().attempt)).value, 'a');
    states.get('a').latencyMs = 50;
    assert.equal((await route.run(deployments().attempt)).value, 'b');
    states.get('b').latencyMs = 80;
    assert.equal((await route.run(deployments().attempt)).value, 'a');
  });

  test('nested nodes run to any depth', async () => {
    const route = setup({
      strategy: 'fallback',
      targets: [
        {
          strategy: 'single',
          targets: [{ strategy: 'fallback', targets: [{ deployment: 'a' }, { deployment: 'b' }] }],
        },
        { strategy: 'least_busy', targets: [{ deployment: 'c' }] },
      ],
    });
    const stand = deployments({ a: [500], b: [503] });
    const { value, progress } = await route.run(stand.attempt);
    assert.equal(value, 'c');
    assert.deepEqual(stand.tries, ['a', 'b', 'c']);
    assert.equal(progress.attempts, 3);
  });

  test('N failures in the window cool a deployment down; it comes back by itself', async () => {
    const route = setup(TWO_IN_TEN_SECONDS);
    const stand = deployments({ a: [500, 500] });
    await route.run(stand.attempt);
    await route.run(stand.attempt);
    assert.equal(route.governance.states.isAvailable('a'), false);
    stand.tries.length = 0;
    assert.equal((await route.run(stand.attempt)).value, 'b');
    assert.deepEqual(stand.tries, ['b'], 'a cooling deployment is passed over');
    route.advance(29_999);
    assert.equal(route.governance.states.isAvailable('a'), false);
    route.advance(1);
    assert.equal((await route.run(stand.attempt)).value, 'a');
    assert.match(
      route.governance.renderMetrics(),
      /byzerllm_route_target_cooldowns_total\{deployment="a"\} 1/,
    );
  });

  test('failures outside the window do not add up', async () => {
    const route = setup(TWO_IN_TEN_SECONDS);
    const stand = deployments({ a: [500, 500] });
    await route.run(stand.attempt);
    route.advance(10_001);
    await route.run(stand.attempt);
    assert.equal(route.governance.states.isAvailable('a'), true);
  });

  test('a 429 cools down at once, for its Retry-After', async () => {
    const route = setup({ strategy: 'fallback', targets: [{ deployment: 'a' }, { deployment: 'b' }] });
    const stand = deployments({ a: [429] });
    assert.equal((await route.run(stand.attempt)).value, 'b');
    assert.equal(route.governance.states.isAvailable('a'), false);
    route.advance(2_000);
    assert.equal(route.governance.states.isAvailable('a'), true);
  });

  test('with every target cooling down, the healthiest is tried first', async () => {
    const route = setup({
      strategy: 'fallback',
      cooldown: { failures: 1, window_seconds: 10, cooldown_seconds: 30 },
      targets: [{ deployment: 'dead' }, { deployment: 'flaky', retries: 1 }],
    });
    const stand = deployments({ dead: [502, 502], flaky: [500] });
    assert.equal((await route.run(stand.attempt)).value, 'flaky');
    assert.deepEqual(stand.tries, ['dead', 'flaky', 'flaky']);
    assert.equal(route.governance.states.isAvailable('dead'), false);
    assert.equal(route.governance.states.isAvailable('flaky'), false);
    stand.tries.length = 0;
    assert.equal((await route.run(stand.attempt)).value, 'flaky');
    assert.deepEqual(stand.tries, ['flaky']);
  });

  test('a cancelled request tries nothing more', async () => {
    const controller = new AbortController();
    const route = setup({
      strategy: 'fallback',
      targets: [{ deployment: 'a', retries: 5 }, { deployment: 'b' }],
    });
    const tries: string[] = [];
    const attempt: RouteAttempt<string> = async (deployment) => {
      tries.push(deployment);
      controller.abort();
      throw upstreamErrorFromStatus({ provider: deployment, status: 500, message: 'x' });
    };
    await assert.rejects(route.run(attempt, controller.signal), { code: 'aborted' });
    assert.deepEqual(tries, ['a']);
    assert.equal(route.governance.states.get('a').failures, 0);
  });
});
