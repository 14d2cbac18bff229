/**
 * Placing training jobs (head/job-placement.ts), a spread job's parts and record
 * (nats/job-parts.ts), and a deployment pinned to nodes (`DeploymentSpec.nodes`), on the real
 * `Placement` ledger: no processes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InsufficientResourcesError } from '../../src/core/index.js';
import { placeTrainingJob } from '../../src/cluster/head/job-placement.js';
import { combinedRecord, partOptions, partsFromPlacements } from '../../src/cluster/nats/job-parts.js';
import { Placement } from '../../src/cluster/placement.js';

function ledger(cpus: Record<string, number>): Placement {
  const placement = new Placement();
  for (const [node, count] of Object.entries(cpus))
    placement.addNode(node, { cpus: count, memoryBytes: 1, gpus: [] });
  return placement;
}
const job = { name: 'tune', numWorkers: 2, cpusPerWorker: 1, gpusPerWorker: 0 };

test('a job that fits on one node stays there; one that does not is spread over nodes', () => {
  const roomy = ledger({ alpha: 4, beta: 4 });
  const kept = placeTrainingJob(roomy, 'job tune', job);
  assert.equal(new Set(kept.map((worker) => worker.node)).size, 1);
  const tight = ledger({ alpha: 1, beta: 1 });
  const spread = placeTrainingJob(tight, 'job tune', job);
  assert.deepEqual(spread.map((worker) => worker.node).sort(), ['alpha', 'beta']);
  assert.deepEqual(tight.usage('alpha')?.cpusUsed, 1);
  tight.release('job tune');
  assert.deepEqual(tight.usage('alpha')?.cpusUsed, 0);
});

test('--nodes 2 spreads a job that would fit on one node; --nodes 3 with 2 workers is refused', () => {
  const roomy = ledger({ alpha: 4, beta: 4, gamma: 1 });
  const spread = placeTrainingJob(roomy, 'job tune', { ...job, nodes: 2 });
  assert.deepEqual(spread.map((worker) => worker.node).sort(), ['alpha', 'beta']);
  assert.throws(
    () => placeTrainingJob(ledger({ a: 4, b: 4, c: 4 }), 'job x', { ...job, nodes: 3 }),
    (error: unknown) => error instanceof InsufficientResourcesError && /over 3 nodes/.test(error.message),
  );
});

test('a pinned job (resumed, re-attached) holds each share on its own node, all or nothing', () => {
  const placement = ledger({ alpha: 4, beta: 4, gamma: 8 });
  const pinned = [
    { node: 'beta', workers: 2 },
    { node: 'alpha', workers: 1 },
  ];
  const placed = placeTrainingJob(placement, 'job tune', { ...job, numWorkers: 3, pinned });
  // The emptiest node (gamma) is not used: the job's files are on beta and alpha.
  assert.deepEqual(
    placed.map((worker) => worker.node),
    ['beta', 'beta', 'alpha'],
  );
  assert.equal(placement.usage('beta')?.cpusUsed, 2);
  assert.equal(placement.usage('alpha')?.cpusUsed, 1);
  assert.equal(placement.usage('gamma')?.cpusUsed, 0);
  // beta lacks room for its share: nothing stays held on alpha either.
  const tight = ledger({ alpha: 4, beta: 1, gamma: 8 });
  assert.throws(
    () => placeTrainingJob(tight, 'job tune', { ...job, numWorkers: 3, pinned: [pinned[1]!, pinned[0]!] }),
    InsufficientResourcesError,
  );
  assert.equal(tight.usage('alpha')?.cpusUsed, 0);
  assert.equal(tight.usage('gamma')?.cpusUsed, 0);
});

test("a spread job's parts get contiguous ranks and node 0's rendezvous, never its rank", () => {
  const parts = partsFromPlacements('tune', [
    { node: 'beta', gpuIndices: [] },
    { node: 'alpha', gpuIndices: [] },
    { node: 'alpha', gpuIndices: [] },
  ]);
  assert.deepEqual(
    parts.map((part) => [part.node, part.firstRank, part.workers]),
    [
      ['alpha', 0, 2],
      ['beta', 2, 1],
    ],
  );
  const input = { kind: 'finetune', numWorkers: 3, nodes: 2, deploy: 'chat' };
  const first = partOptions(input, parts, 0);
  assert.deepEqual(first.distributed, { worldSize: 3, nodeCount: 2, nodeRank: 0, firstRank: 0 });
  assert.equal(first.numWorkers, 2);
  assert.equal('deploy' in first || 'nodes' in first, false, 'the head keeps deploy and nodes');
  const second = partOptions(input, parts, 1, { masterAddress: '10.0.0.1', masterPort: 20_000 });
  assert.deepEqual(second.distributed, {
    worldSize: 3,
    nodeCount: 2,
    nodeRank: 1,
    firstRank: 2,
    masterAddress: '10.0.0.1',
    masterPort: 20_000,
  });
});

test('a spread job is stopping while a share still runs, then failed with the killed worker as cause', () => {
  const parts = partsFromPlacements('tune', [
    { node: 'alpha', gpuIndices: [] },
    { node: 'beta', gpuIndices: [] },
  ]);
  parts[0]!.record = { name: 'tune', status: 'failed', reason: 'worker 0 exited with code 1' };
  parts[0]!.finishedOrder = 0;
  assert.equal(combinedRecord(parts).status, 'stopping');
  parts[1]!.record = {
    name: 'tune',
    status: 'failed',
    reason: 'worker 1 was killed by SIGKILL',
    failure: { signal: 'SIGKILL' },
  };
  parts[1]!.finishedOrder = 1;
  const record = combinedRecord(parts);
  assert.equal(record.status, 'failed');
  assert.equal(record.reason, 'node beta: worker 1 was killed by SIGKILL');
  assert.deepEqual(
    record.nodes?.map((share) => share.ranks),
    [
      [0, 0],
      [1, 1],
    ],
  );
});

test('a deployment pinned to a node runs only there and never moves away', () => {
  const placement = ledger({ alpha: 4, beta: 4 });
  const spec = { name: 'chat', numWorkers: 2, cpusPerWorker: 0.5, gpusPerWorker: 0, nodes: ['beta'] };
  assert.deepEqual(
    placement.place(spec).map((worker) => worker.node),
    ['beta', 'beta'],
  );
  assert.throws(
    () => placement.placeWorker(spec, 0, ['beta']),
    (error: unknown) =>
      error instanceof InsufficientResourcesError && /runs only on beta/.test(error.message),
  );
});
