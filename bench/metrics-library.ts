/**
 * The gateway's own Prometheus recording (`src/server/metrics.ts`) against prom-client doing the same
 * work per request: in-flight gauge up and down, a request counter by (endpoint, model, status), a
 * latency histogram by (endpoint, model) and token counters. CPU time per request from
 * `process.cpuUsage`, the two measured alternately in one process (rounds interleaved, so load from
 * other work on the machine falls on both), and one `/metrics` render each.
 *
 *   npx tsc -p . && node dist/bench/metrics-library.js [requests per round, default 200000]
 */
import client from 'prom-client';
import { GatewayMetrics } from '../src/server/metrics.js';

const REQUESTS = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;
const MODELS = ['gpt_chat', 'tiny', 'embed'];
const ENDPOINTS = ['chat', 'embeddings'];

function ours(): { record(index: number): void; render(): Promise<string> } {
  const metrics = new GatewayMetrics();
  return {
    record(index) {
      const model = MODELS[index % MODELS.length]!;
      metrics.started(model);
      metrics.record({
        endpoint: ENDPOINTS[index % 2]!,
        model,
        status: index % 50 === 0 ? 500 : 200,
        seconds: (index % 1000) / 1000,
        inputTokens: 12,
        outputTokens: 30,
      });
      metrics.ended(model);
    },
    render: async () => metrics.render(),
  };
}

function promClient(): { record(index: number): void; render(): Promise<string> } {
  const registry = new client.Registry();
  const requests = new client.Counter({
    name: 'byzerllm_gateway_requests_total',
    help: 'Requests answered, by endpoint, model and status.',
    labelNames: ['endpoint', 'model', 'status'],
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: 'byzerllm_gateway_request_duration_seconds',
    help: 'Time to answer.',
    labelNames: ['endpoint', 'model'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const tokens = new client.Counter({
    name: 'byzerllm_gateway_tokens_total',
    help: 'Tokens by model and direction.',
    labelNames: ['model', 'direction'],
    registers: [registry],
  });
  const inFlight = new client.Gauge({
    name: 'byzerllm_gateway_in_flight_requests',
    help: 'Requests being answered.',
    labelNames: ['model'],
    registers: [registry],
  });
  return {
    record(index) {
      const model = MODELS[index % MODELS.length]!;
      const endpoint = ENDPOINTS[index % 2]!;
      inFlight.inc({ model });
      requests.inc({ endpoint, model, status: index % 50 === 0 ? '500' : '200' });
      latency.observe({ endpoint, model }, (index % 1000) / 1000);
      tokens.inc({ model, direction: 'input' }, 12);
      tokens.inc({ model, direction: 'output' }, 30);
      inFlight.dec({ model });
    },
    render: () => registry.metrics(),
  };
}

function cpuMicroseconds(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

const implementations = { ours: ours(), 'prom-client': promClient() };
const perRequest: Record<string, number[]> = { ours: [], 'prom-client': [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, implementation] of Object.entries(implementations)) {
    const micros = cpuMicroseconds(() => {
      for (let index = 0; index < REQUESTS; index++) implementation.record(index);
    });
    perRequest[name]!.push((micros * 1000) / REQUESTS);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [name, implementation] of Object.entries(implementations)) {
  const before = process.cpuUsage();
  const text = await implementation.render();
  const used = process.cpuUsage(before);
  console.log(
    `${name.padEnd(12)} ${median(perRequest[name]!).toFixed(0).padStart(5)} ns CPU per request (median of ${ROUNDS} rounds of ${REQUESTS}); render ${((used.user + used.system) / 1000).toFixed(2)} ms, ${text.length} bytes`,
  );
}
console.log(
  `ratio prom-client / ours: ${(median(perRequest['prom-client']!) / median(perRequest.ours!)).toFixed(2)}`,
);
