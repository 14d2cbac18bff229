/**
 * The worker's busy-time meter: a resource clock shared equally among the requests running at each
 * moment (a clock stepped by hand here), reported in whole microseconds, and the CPU clock of the
 * process itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusyMeter, busyMeterFor, withBusySeconds } from '../../src/cluster/worker/busy-meter.js';

test('each interval of the clock is shared equally among the requests running through it', () => {
  let clock = 100;
  const meter = new BusyMeter('cpuSeconds', () => clock);
  clock = 101; // nobody running: charged to nobody
  meter.begin(1);
  clock = 103; // request 1 alone: 2 s
  meter.begin(2);
  clock = 107; // 1 and 2 together: 2 s each
  meter.begin(3);
  clock = 110; // 1, 2 and 3: 1 s each
  assert.equal(meter.end(1), 5);
  clock = 112; // 2 and 3: 1 s each
  assert.equal(meter.end(3), 2);
  clock = 112.5; // 2 alone
  assert.equal(meter.end(2), 4.5);
  assert.equal(meter.end(2), 0, 'an ended request is reported once');
  assert.equal(meter.end(99), 0, 'an id never begun costs nothing');
});

test('busy seconds are whole microseconds, so that many requests sum exactly', () => {
  let clock = 0;
  const meter = new BusyMeter('gpuSeconds', () => clock);
  for (const id of [1, 2, 3]) meter.begin(id);
  clock = 1;
  const seconds = [1, 2, 3].map((id) => meter.end(id));
  assert.deepEqual(seconds, [0.333333, 0.333333, 0.333333]);
});

test('a worker without GPUs measures its own CPU time; one with GPUs wall time × its GPUs', () => {
  const cpu = busyMeterFor(0);
  assert.equal(cpu.field, 'cpuSeconds');
  // Spins until this process used 30 ms of CPU (however long that takes on a shared machine).
  const before = process.cpuUsage();
  cpu.begin(1);
  let spin = 0;
  while (cpuMicrosecondsSince(before) < 30_000) spin++;
  const spent = cpu.end(1);
  const outside = cpuMicrosecondsSince(before) / 1e6;
  assert.ok(spin > 0);
  assert.ok(spent >= 0.03 && spent <= outside, `${spent} CPU-seconds measured, ${outside} spent around it`);

  const gpu = busyMeterFor(2);
  assert.equal(gpu.field, 'gpuSeconds');
  gpu.begin(1);
  const start = performance.now();
  while (performance.now() - start < 20) spin++;
  const gpuSeconds = gpu.end(1);
  const wall = (performance.now() - start) / 1000;
  assert.ok(gpuSeconds >= 0.04 && gpuSeconds <= 2 * wall + 1e-6, `${gpuSeconds} GPU-seconds over ${wall} s`);
});

function cpuMicrosecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

test('busy seconds are added to a copy of the usage; results without usage pass unchanged', () => {
  const result = { text: 'x', usage: { inputTokens: 3, outputTokens: 4 } };
  const metered = withBusySeconds(result, 'cpuSeconds', 0.25);
  assert.deepEqual(metered.usage, { inputTokens: 3, outputTokens: 4, cpuSeconds: 0.25 });
  assert.deepEqual(result.usage, { inputTokens: 3, outputTokens: 4 }, 'the engine object is left alone');
  const meta = { model_type: 'x' };
  assert.equal(withBusySeconds(meta, 'cpuSeconds', 1), meta);
});
