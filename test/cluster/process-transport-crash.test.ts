/**
 * Worker processes that die: a killed llama_cpp worker ends its open stream with `worker_failed`,
 * fails in-flight calls as retryable `worker_failed`, reports not ready, and comes back as a new
 * process that serves again.
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createProcessTransport, type WorkerEndpoint } from '../../src/cluster/index.js';
import { ByzerLLMError, deploymentSpecSchema, type StreamPart } from '../../src/core/index.js';
import { ensureTinyLlamaModel } from '../../src/engines/llama-cpp/tiny-model/tiny-llama.js';

let directory: string;
let worker: WorkerEndpoint;
const readiness: boolean[] = [];
const readinessEvents = new EventEmitter();

before(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-crash-'));
  const model = await ensureTinyLlamaModel(directory);
  worker = await createProcessTransport().startWorker({
    spec: deploymentSpecSchema.parse({
      name: 'crash',
      pretrainedModelType: 'custom/auto',
      inferBackend: 'llama_cpp',
      modelPath: model.path,
      workerConcurrency: 2,
    }),
    workerIndex: 0,
    gpuIndices: [],
    warn: () => {},
  });
  worker.onReadyChange?.((ready) => {
    readiness.push(ready);
    readinessEvents.emit('change', ready);
  });
});

after(async () => {
  await worker?.close();
  await fs.rm(directory, { recursive: true, force: true });
});

test('kill -9 mid-stream: the stream ends with worker_failed, a call fails retryable, the worker restarts', async () => {
  const firstPid = worker.location.pid!;
  const parts = await worker.stream({ messages: [{ role: 'user', content: 'talk' }], maxTokens: 5000 });
  const pendingCall = worker.call('chat', { messages: [{ role: 'user', content: 'hi' }], maxTokens: 5000 });
  const callOutcome = pendingCall.then(
    () => undefined,
    (error: unknown) => error,
  );
  const seen: StreamPart[] = [];
  for await (const part of parts) {
    seen.push(part);
    if (part.type === 'text-delta' && seen.filter((each) => each.type === 'text-delta').length === 1) {
      process.kill(firstPid, 'SIGKILL');
    }
  }
  const last = seen.at(-1);
  assert.equal(last?.type, 'error');
  assert.equal(last?.type === 'error' && last.error.code, 'worker_failed');
  const callError = await callOutcome;
  assert.ok(callError instanceof ByzerLLMError);
  assert.equal(callError.code, 'worker_failed');
  assert.equal(callError.isRetryable, true);

  if (readiness.at(-1) !== true) await once(readinessEvents, 'change');
  if (readiness.at(-1) !== true) await once(readinessEvents, 'change');
  assert.deepEqual(readiness, [false, true]);
  assert.notEqual(worker.location.pid, firstPid);
  const answer = await worker.call('chat', { messages: [{ role: 'user', content: 'again' }], maxTokens: 8 });
  assert.ok(answer.usage.outputTokens > 0);
});
