/**
 * CPU time of the gate itself per request, in-process (no HTTP, no upstream): `AccessControl`
 * admitting and settling requests of a virtual key with rpm/tpm limits and a budget, to a priced
 * deployment that has its own limits — the work a governed request adds at the head. The inactive
 * gate's cost is one boolean, measured here as the baseline loop.
 *
 *   npx tsc -p . && node dist/bench/gateway/gate-cost.js [--requests 200000]
 */
import { parseArgs } from 'node:util';
import { AccessControl, Governance, routeTargetsOf, VirtualKeyStore } from '../../src/cluster/index.js';
import { tokenPriceOf } from '../../src/core/index.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200000' } } });
const requests = Number(values.requests);

const keys = new VirtualKeyStore(undefined);
const { key } = await keys.create({ rpm: 1e9, tpm: 1e9, budget: 9000 });
await keys.setDeploymentLimits('bench_chat', { rpm: 1e9, tpm: 1e9 });
const price = tokenPriceOf({ 'gateway.price_input': '0.15', 'gateway.price_output': '0.6' });
// As head-main composes it: route names resolve to their targets (none here: a plain deployment).
const control = new AccessControl({
  keys,
  priceOf: () => price,
  targetsOf: routeTargetsOf(new Governance()),
});
const request = { master: false, open: false, key, model: 'bench_chat', inputTokens: 30, outputTokens: 256 };

function cpuMicros(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / requests;
}

const inactive = new AccessControl({ keys: new VirtualKeyStore(undefined), priceOf: () => undefined });
let admitted = 0;
const rounds: { off: number; on: number }[] = [];
for (let round = 0; round < 5; round++) {
  const off = cpuMicros(() => {
    for (let index = 0; index < requests; index++) if (inactive.active) admitted++;
  });
  const on = cpuMicros(() => {
    for (let index = 0; index < requests; index++) {
      const admission = control.admitNow(request);
      if (!admission.ok || !admission.ticket) throw new Error('refused');
      control.settle({
        ticket: admission.ticket,
        deployment: 'bench_chat',
        inputTokens: 25,
        outputTokens: 12,
        seconds: 0,
      });
    }
  });
  rounds.push({ off, on });
}
const median = (list: number[]) => [...list].sort((left, right) => left - right)[2]!;
process.stdout.write(
  `gate off: ${median(rounds.map((round) => round.off)).toFixed(3)} µs CPU per request; ` +
    `key + limits + budget: ${median(rounds.map((round) => round.on)).toFixed(2)} µs CPU per request (admit + settle), median of 5 × ${requests}${admitted ? '' : ''}\n`,
);
