/**
 * The deployment's OpenAI pass-through goes through the worker pool like `call` does
 * (`cluster/pooled-pass-through.ts`): a free slot is taken at once, a full deployment makes the
 * call wait in the queue and then run, a waiting call the caller aborts leaves the queue with
 * `aborted`, and every slot is free again afterwards. Against the local OpenAI stand-in; the first
 * call is held by the stand-in's `delay:` knob, far longer than the checks made while it runs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createInProcessTransport, DeploymentStore, Head } from '../../src/cluster/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

let upstream: OpenAIUpstream;
let head: Head;
let directory: string;

before(async () => {
  upstream = await startOpenAIUpstream();
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-pooled-pass-through-'));
  head = new Head({
    store: new DeploymentStore(directory),
    transport: createInProcessTransport(),
    resources: { cpus: 2, memoryBytes: 2 ** 34, gpus: [] },
  });
  await head.deploy({
    name: 'one_slot',
    pretrainedModelType: 'saas/openai',
    workerConcurrency: 1,
    inferParams: { 'saas.api_key': upstream.apiKey, 'saas.model': 'm', 'saas.base_url': upstream.url },
  });
});

after(async () => {
  await head?.close();
  await upstream?.close();
  await fs.rm(directory, { recursive: true, force: true });
});

function ask(text: string, signal?: AbortSignal) {
  const passThrough = head.openAIPassThrough('one_slot');
  assert.ok(passThrough, 'the deployment offers the pass-through');
  return passThrough.doGenerateOpenAI(
    { model: 'one_slot', messages: [{ role: 'user', content: text }] },
    signal ? { signal } : {},
  );
}

test('a call waits for the one slot while another holds it, then runs; the slot is free after', async () => {
  const first = ask('delay:1500 first');
  await upstream.waitUntil(() => upstream.inFlight() === 1);
  const second = ask('second');
  const waiting = await head.stat('one_slot');
  assert.equal(waiting.waiting_requests, 1);
  assert.equal(upstream.inFlight(), 1, 'the second call is not sent while it waits');
  const [firstAnswer, secondAnswer] = await Promise.all([first, second]);
  assert.match(JSON.stringify(firstAnswer), /first/);
  assert.match(JSON.stringify(secondAnswer), /second/);
  const done = await head.stat('one_slot');
  assert.equal(done.waiting_requests, 0);
  assert.deepEqual(done.state, [1], 'the slot is free again');
});

test('a waiting call the caller aborts leaves the queue with aborted; the running one finishes', async () => {
  const first = ask('delay:1500 running');
  await upstream.waitUntil(() => upstream.inFlight() === 1);
  const controller = new AbortController();
  const waiting = ask('never sent', controller.signal);
  assert.equal((await head.stat('one_slot')).waiting_requests, 1);
  controller.abort();
  await assert.rejects(waiting, { code: 'aborted' });
  assert.equal(upstream.inFlight(), 1, 'it left the queue while the running call still ran');
  assert.equal((await head.stat('one_slot')).waiting_requests, 0);
  assert.match(JSON.stringify(await first), /running/);
  assert.deepEqual((await head.stat('one_slot')).state, [1]);
});
