import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Placement } from '../../src/cluster/index.js';
import { type ByzerLLMError, deploymentSpecSchema } from '../../src/core/index.js';

const node = (gpus: number, cpus = 2) => ({
  cpus,
  memoryBytes: 2 ** 34,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'test', memoryMiB: 1 })),
});
const spec = (input: Record<string, unknown>) =>
  deploymentSpecSchema.parse({ name: 'm', pretrainedModelType: 'saas/openai', ...input });

function onePlacement(gpus: number, cpus = 2): Placement {
  const placement = new Placement();
  placement.addNode('head', node(gpus, cpus));
  return placement;
}

test('asking for GPUs on a node without any fails, saying so', () => {
  assert.throws(
    () => onePlacement(0).place(spec({ gpusPerWorker: 1 })),
    (error: ByzerLLMError) => error.code === 'insufficient_resources' && /has no GPU/.test(error.message),
  );
});

test('whole GPUs get distinct indices, a deploy that does not fit says what is free, undeploy frees them', () => {
  const placement = onePlacement(2);
  const placed = placement.place(spec({ name: 'a', numWorkers: 2, gpusPerWorker: 1 }));
  assert.deepEqual(
    placed.map((worker) => worker.gpuIndices),
    [[0], [1]],
  );
  assert.throws(
    () => placement.place(spec({ name: 'b', gpusPerWorker: 1 })),
    (error: ByzerLLMError) =>
      /needs 1 workers .* head: 1\.98 CPUs and 0\.00 of 2 GPUs free/.test(error.message),
  );
  placement.release('a');
  assert.deepEqual(placement.place(spec({ name: 'b', gpusPerWorker: 2 }))[0]!.gpuIndices, [0, 1]);
});

test('fractional GPUs share the least loaded GPU', () => {
  const placed = onePlacement(2).place(spec({ name: 'a', numWorkers: 3, gpusPerWorker: 0.5 }));
  assert.deepEqual(
    placed.map((worker) => worker.gpuIndices),
    [[0], [1], [0]],
  );
});

test('CPU reservations are checked, and a failed deploy holds nothing', () => {
  const placement = onePlacement(0);
  placement.place(spec({ name: 'a', numWorkers: 2, cpusPerWorker: 0.5 }));
  assert.throws(
    () => placement.place(spec({ name: 'b', numWorkers: 3, cpusPerWorker: 0.5 })),
    (error: ByzerLLMError) => /needs 3 workers .*head: 1\.00 CPUs/.test(error.message),
  );
  assert.equal(placement.usage('head')!.cpusUsed, 1);
});

test('workers spread over nodes, and a lost node’s workers can be placed elsewhere', () => {
  const placement = new Placement();
  for (const id of ['node-a', 'node-b', 'node-c']) placement.addNode(id, node(0, 4));
  const placed = placement.place(spec({ name: 'six', numWorkers: 6, cpusPerWorker: 1 }));
  const perNode = new Map<string, number>();
  for (const worker of placed) perNode.set(worker.node, (perNode.get(worker.node) ?? 0) + 1);
  assert.deepEqual([...perNode.values()], [2, 2, 2]);
  const lost = placement.removeNode('node-b');
  assert.deepEqual(lost.get('six')?.length, 2);
  const again = lost
    .get('six')!
    .map((index) =>
      placement.placeWorker(spec({ name: 'six', numWorkers: 6, cpusPerWorker: 1 }), index, ['node-b']),
    );
  assert.ok(again.every((worker) => worker.node !== 'node-b'));
  assert.equal(placement.usage('node-a')!.cpusUsed + placement.usage('node-c')!.cpusUsed, 6);
});

test('moving a worker to a node that joined moves its reservation, and refuses when it does not fit', () => {
  const placement = new Placement();
  placement.addNode('node-a', node(1, 4));
  const gpuSpec = spec({ name: 'g', numWorkers: 2, cpusPerWorker: 1, gpusPerWorker: 0.5 });
  placement.place(gpuSpec);
  assert.deepEqual(placement.usage('node-a'), { cpusUsed: 2, gpuLoad: [1] });
  // No GPU on node-b: the worker stays where it is and nothing changes.
  placement.addNode('node-b', node(0, 4));
  assert.equal(placement.moveWorker(gpuSpec, 1, 'node-b'), undefined);
  assert.deepEqual(placement.usage('node-a'), { cpusUsed: 2, gpuLoad: [1] });
  placement.addNode('node-c', node(1, 1));
  assert.deepEqual(placement.moveWorker(gpuSpec, 1, 'node-c'), { node: 'node-c', gpuIndices: [0] });
  assert.deepEqual(placement.usage('node-a'), { cpusUsed: 1, gpuLoad: [0.5] });
  assert.deepEqual(placement.usage('node-c'), { cpusUsed: 1, gpuLoad: [0.5] });
  // node-c has no CPU left for the other worker.
  assert.equal(placement.moveWorker(gpuSpec, 0, 'node-c'), undefined);
  assert.equal(placement.moveWorker(gpuSpec, 0, 'node-x'), undefined);
});
