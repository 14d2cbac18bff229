import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResourceLedger } from '../../src/cluster/index.js';
import { type ByzerLLMError, deploymentSpecSchema } from '../../src/core/index.js';

const node = (gpus: number) => ({
  cpus: 2,
  memoryBytes: 2 ** 34,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'test', memoryMiB: 1 })),
});
const spec = (input: Record<string, unknown>) =>
  deploymentSpecSchema.parse({ name: 'm', pretrainedModelType: 'saas/openai', ...input });

test('asking for GPUs on a node without any fails, saying so', () => {
  const ledger = new ResourceLedger(node(0));
  assert.throws(
    () => ledger.reserve(spec({ gpusPerWorker: 1 })),
    (error: ByzerLLMError) => error.code === 'insufficient_resources' && /has no GPU/.test(error.message),
  );
});

test('whole GPUs are assigned distinct indices and released on undeploy', () => {
  const ledger = new ResourceLedger(node(2));
  assert.deepEqual(ledger.reserve(spec({ name: 'a', numWorkers: 2, gpusPerWorker: 1 })), [[0], [1]]);
  assert.throws(
    () => ledger.reserve(spec({ name: 'b', gpusPerWorker: 1 })),
    (error: ByzerLLMError) => /asks for 1 GPUs .* has 2 GPUs with 0.00 free/.test(error.message),
  );
  ledger.release('a');
  assert.deepEqual(ledger.reserve(spec({ name: 'b', gpusPerWorker: 2 })), [[0, 1]]);
});

test('fractional GPUs share the least loaded GPU', () => {
  const ledger = new ResourceLedger(node(2));
  assert.deepEqual(ledger.reserve(spec({ name: 'a', numWorkers: 3, gpusPerWorker: 0.5 })), [[0], [1], [0]]);
});

test('CPU reservations are checked against the node', () => {
  const ledger = new ResourceLedger(node(0));
  ledger.reserve(spec({ name: 'a', numWorkers: 2, cpusPerWorker: 0.5 }));
  assert.throws(
    () => ledger.reserve(spec({ name: 'b', numWorkers: 3, cpusPerWorker: 0.5 })),
    (error: ByzerLLMError) => /asks for 1.5 CPUs .*1.00 of 2 free/.test(error.message),
  );
});
