/**
 * Prometheus metrics of the gateway (`GET /metrics`, text format 0.0.4): requests by endpoint, model
 * and status, latency histograms, time to first token of streams, tokens and in-flight requests per
 * deployment. Recording is a few map updates per request: it sits on the hot path.
 *
 * Labels never come from unbounded input, so a client cannot grow the series until `/metrics` fails:
 * `endpoint` is one of the gateway's routes or `other` (unknown paths, and every 401, whose path is
 * not counted), and `model` is a deployment that has answered at least once (other names, such as
 * unknown ones answered 404, are counted with an empty `model`).
 */

/** The `endpoint` label of requests to no known route, and of every unauthenticated request. */
export const OTHER_ENDPOINT = 'other';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let index = 0; index < LATENCY_BUCKETS.length; index++) {
      if (seconds <= LATENCY_BUCKETS[index]!) this.counts[index]!++;
    }
  }
}

export interface RequestRecord {
  /** A route of the gateway or `OTHER_ENDPOINT`: never a path as the client sent it. */
  endpoint: string;
  /** The deployment, or empty when the request failed before naming one. */
  model: string;
  status: number;
  seconds: number;
  inputTokens?: number;
  outputTokens?: number;
}

interface Series {
  requests: string;
  latency: Histogram;
  inputTokens: string;
  outputTokens: string;
}

export class GatewayMetrics {
  /** Series by endpoint, then model, then status: no key string is built per request. */
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly firstToken = new Map<string, Histogram>();
  private readonly tokens = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  /** Names that answered a request successfully: deployments, the only names used as labels. */
  private readonly knownModels = new Set<string>();

  started(model: string): void {
    this.inFlight.set(model, (this.inFlight.get(model) ?? 0) + 1);
  }

  /** Drops the gauge of a name that is not a known deployment once nothing runs for it. */
  ended(model: string): void {
    const left = (this.inFlight.get(model) ?? 1) - 1;
    if (left === 0 && !this.knownModels.has(model)) this.inFlight.delete(model);
    else this.inFlight.set(model, left);
  }

  /** Only called once a stream has started, which only a deployment can do. */
  firstTokenAfter(model: string, seconds: number): void {
    histogram(this.firstToken, labels({ model })).observe(seconds);
  }

  record(record: RequestRecord): void {
    let model = record.model;
    if (model && !this.knownModels.has(model)) {
      if (record.status < 400) this.knownModels.add(model);
      else model = '';
    }
    const series = this.seriesFor(record.endpoint, model, record.status);
    this.requests.set(series.requests, (this.requests.get(series.requests) ?? 0) + 1);
    series.latency.observe(record.seconds);
    if (model && record.inputTokens) add(this.tokens, series.inputTokens, record.inputTokens);
    if (model && record.outputTokens) add(this.tokens, series.outputTokens, record.outputTokens);
  }

  /** Label strings and histograms per (endpoint, model, status), built once: recording is hot. */
  private seriesFor(endpoint: string, model: string, status: number): Series {
    let byModel = this.series.get(endpoint);
    if (!byModel) {
      byModel = new Map();
      this.series.set(endpoint, byModel);
    }
    let byStatus = byModel.get(model);
    if (!byStatus) {
      byStatus = new Map();
      byModel.set(model, byStatus);
    }
    let series = byStatus.get(status);
    if (!series) {
      series = {
        requests: labels({ endpoint, model, status: String(status) }),
        latency: histogram(this.latency, labels({ endpoint, model })),
        inputTokens: labels({ model, direction: 'input' }),
        outputTokens: labels({ model, direction: 'output' }),
      };
      byStatus.set(status, series);
    }
    return series;
  }

  render(): string {
    const lines: string[] = [];
    counter(
      lines,
      'byzerllm_gateway_requests_total',
      'Requests answered, by endpoint, model and status.',
      this.requests,
    );
    histograms(
      lines,
      'byzerllm_gateway_request_duration_seconds',
      'Time to the end of the answer.',
      this.latency,
    );
    histograms(
      lines,
      'byzerllm_gateway_time_to_first_token_seconds',
      'Time to the first streamed chunk.',
      this.firstToken,
    );
    counter(
      lines,
      'byzerllm_gateway_tokens_total',
      'Tokens by model and direction (input, output).',
      this.tokens,
    );
    lines.push('# HELP byzerllm_gateway_in_flight Requests being answered now, by model.');
    lines.push('# TYPE byzerllm_gateway_in_flight gauge');
    for (const [model, value] of this.inFlight) {
      if (this.knownModels.has(model)) lines.push(`byzerllm_gateway_in_flight${labels({ model })} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(
    ([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return `{${parts.join(',')}}`;
}

function add(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

function histogram(map: Map<string, Histogram>, key: string): Histogram {
  let found = map.get(key);
  if (!found) {
    found = new Histogram();
    map.set(key, found);
  }
  return found;
}

function counter(lines: string[], name: string, help: string, values: Map<string, number>): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
  for (const [key, value] of values) lines.push(`${name}${key} ${value}`);
}

function histograms(lines: string[], name: string, help: string, values: Map<string, Histogram>): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [key, found] of values) {
    const inner = key.slice(1, -1);
    LATENCY_BUCKETS.forEach((bound, index) => {
      lines.push(`${name}_bucket{${inner},le="${bound}"} ${found.counts[index]}`);
    });
    lines.push(`${name}_bucket{${inner},le="+Inf"} ${found.count}`);
    lines.push(`${name}_sum${key} ${found.sum}`, `${name}_count${key} ${found.count}`);
  }
}
