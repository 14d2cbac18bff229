/**
 * `impl`: model-written JavaScript runs in the QuickJS sandbox. Hostile code — require('fs'),
 * process.exit, endless sync or async loops — is stopped and reported, and this process carries on.
 * Results are validated; working code is cached per (model, instruction, signature).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { runInSandbox } from '../../src/client/index.js';
import { type ClientFixture, startClientFixture } from './client-fixture.js';

const Time = z.object({ time: z.string() });

describe('impl', () => {
  let fixture: ClientFixture;
  before(async () => {
    fixture = await startClientFixture();
  });
  after(() => fixture.close());

  const hostile = [
    ['read_secrets', /'require' is not defined/],
    ['stop_host', /'process' is not defined/],
    ['spin_forever', /ran longer than 200 ms and was stopped/],
    ['spin_async', /ran longer than 200 ms and was stopped/],
    ['wrong_shape', /does not match the return schema/],
  ] as const;
  for (const [name, reason] of hostile) {
    test(`${name}: stopped and reported, nothing cached, the host unharmed`, async () => {
      fixture.upstream.reset();
      const run = fixture.llm.impl({
        name,
        description: 'hostile',
        parameters: z.object({}),
        returns: Time,
        timeoutMs: 200,
      });
      const first = await run({});
      assert.equal(first.value, undefined);
      assert.match(first.meta.reason!, reason);
      assert.match(first.meta.raw_func!, new RegExp(`function ${name}`));
      // Not cached: a second call asks the model again.
      await run({});
      assert.equal(fixture.upstream.requests.length, 2);
    });
  }

  for (const name of ['hang_in_builtin', 'memory_bomb']) {
    test(`${name}: reported as meta.reason at the deadline while the host keeps serving`, async () => {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      try {
        const hostile = fixture.llm.impl({
          name,
          description: 'hostile',
          parameters: z.object({}),
          returns: Time,
          timeoutMs: 3000,
        });
        const finished: string[] = [];
        const hostileRun = hostile({}).then((result) => {
          finished.push(name);
          return result;
        });
        // Another impl call is served while the hostile code runs.
        const friendly = await fixture.llm.impl({
          name: 'add_one_day',
          description: 'adds a day',
          parameters: z.object({ current_day: z.string() }),
          returns: Time,
        })({ current_day: '2024-02-28' });
        finished.push('add_one_day');
        assert.deepEqual(friendly.value, { time: '2024-02-29' });
        const ticksWhileHostileRan = ticks;
        const result = await hostileRun;
        assert.deepEqual(finished, ['add_one_day', name]);
        assert.equal(result.value, undefined);
        assert.match(result.meta.reason!, /ran longer than 3000 ms and was stopped|ran out of memory/);
        assert.ok(ticks > ticksWhileHostileRan, 'the host event loop kept running during the hostile run');
      } finally {
        clearInterval(ticker);
      }
    });
  }

  test('arguments are validated before the run and passed as one object', async () => {
    const addOneDay = fixture.llm.impl({
      name: 'add_one_day',
      description: 'adds a day',
      parameters: z.object({ current_day: z.string().regex(/^\d{4}-\d\d-\d\d$/) }),
      returns: Time,
    });
    assert.deepEqual((await addOneDay({ current_day: '2024-02-28' })).value, { time: '2024-02-29' });
    const invalid = await addOneDay({ current_day: 'tomorrow' });
    assert.equal(invalid.value, undefined);
    assert.match(invalid.meta.reason!, /invalid arguments/);
  });

  test('the cache is per model, instruction and signature; clearImplCache empties it', async () => {
    fixture.upstream.reset();
    const options = {
      name: 'calculate_current_time',
      description: 'now',
      parameters: z.object({}),
      returns: Time,
    };
    await fixture.llm.impl(options)({});
    await fixture.llm.impl(options)({});
    assert.equal(fixture.upstream.requests.length, 1, 'the same signature hits the cache');
    await fixture.llm.impl({ ...options, instruction: 'in UTC' })({});
    await fixture.llm.impl({ ...options, description: 'the time now' })({});
    assert.equal(fixture.upstream.requests.length, 3, 'another instruction or signature generates again');
    fixture.llm.clearImplCache({ name: 'calculate_current_time' });
    const again = await fixture.llm.impl(options)({});
    assert.equal(again.meta.cached, false);
    assert.equal(fixture.upstream.requests.length, 4);
    const skipped = await fixture.llm.impl({ ...options, skipCache: true })({});
    assert.equal(skipped.meta.cached, false);
  });

  test('the sandbox has only ECMAScript built-ins', async () => {
    const probe = `function probe() {
      return [typeof require, typeof process, typeof fetch, typeof setTimeout, typeof globalThis.WebAssembly, JSON.stringify([1, 2])];
    }`;
    const outcome = await runInSandbox(probe, 'probe', {});
    assert.deepEqual(outcome, {
      ok: true,
      value: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', '[1,2]'],
    });
    const memory = await runInSandbox(
      'function hog() { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }',
      'hog',
      {},
      {
        memoryBytes: 8 * 1024 * 1024,
        timeoutMs: 5000,
      },
    );
    assert.equal(memory.ok, false);
  });
});
