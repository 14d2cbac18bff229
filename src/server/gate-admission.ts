/**
 * Virtual keys and rate limits at the gateway's edge (see `AccessGate`): a request is admitted
 * before it reaches the cluster (its key, model, limits and budget checked, its estimated cost
 * reserved on the head) and settled with what it used once its answer is sent.
 *
 * Only called while the gate is active (keys or limits exist); otherwise the gateway keeps its plain
 * master-key check and does no work of this file.
 */
import type { AccessGate, AccessRefusal, AccessRequest, Admission } from '../cluster/index.js';
import { InvalidArgumentError } from '../core/index.js';
import type { Exchange } from './exchange.js';
import type { GatewayRefusal } from './map-error.js';

/** Output tokens reserved for a chat or completion that sets no `max_tokens`. */
const DEFAULT_OUTPUT_ESTIMATE = 256;
/** The Responses API's metrics label (`Exchange.endpoint`): its prompt is `input`, not `messages`. */
const RESPONSES_ENDPOINT = '/v1/responses';
/** Bytes per token of the input estimate (OpenAI's rule of thumb for English text is ~4). */
const BYTES_PER_TOKEN = 4;

const REFUSAL_REASONS: Record<AccessRefusal['reason'], GatewayRefusal> = {
  unauthenticated: 'unauthenticated',
  model_not_allowed: 'model_not_allowed',
  budget_exceeded: 'budget_exceeded',
  rate_limited: 'rate_limited',
};

export interface GateCaller {
  /** Presented the master key. */
  master: boolean;
  /** The gateway has no master key. */
  open: boolean;
  /** The bearer, when it is not the master key. */
  key: string | undefined;
}

/**
 * Admits a request to a JSON endpoint with its parsed body (`model` named, or none for endpoints
 * without one); throws the refusal, mapped to 401/403/429 by `map-error.ts`. An admitted request
 * with a ticket is settled by `Exchange.finish`. Returns a promise only when the gate answers
 * later (over NATS): the head's own gate decides at once, and the caller need not wait a turn.
 */
export function admitExchange(
  gate: AccessGate,
  exchange: Exchange,
  caller: GateCaller,
  body: Record<string, unknown> | undefined,
  bodyBytes: number,
): Promise<void> | undefined {
  const model = typeof body?.model === 'string' ? body.model : exchange.context.servedModelName;
  // Chat completions, completions, the Messages API (`max_tokens`) and the Responses API
  // (`max_output_tokens`; its prompt is `input`, which embeddings and speech send too).
  const maxTokens = body?.max_completion_tokens ?? body?.max_tokens ?? body?.max_output_tokens;
  const generates =
    body !== undefined &&
    ('messages' in body || 'prompt' in body || exchange.endpoint === RESPONSES_ENDPOINT);
  const outputTokens =
    typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens >= 0
      ? maxTokens
      : generates
        ? DEFAULT_OUTPUT_ESTIMATE
        : 0;
  const request: AccessRequest = {
    master: caller.master,
    open: caller.open,
    inputTokens: Math.ceil(bodyBytes / BYTES_PER_TOKEN),
    outputTokens,
  };
  if (caller.key !== undefined) request.key = caller.key;
  if (body && model !== undefined) request.model = model;
  const admission = gate.admit(request);
  if (admission instanceof Promise) return admission.then((answer) => admitted(gate, exchange, answer));
  admitted(gate, exchange, admission);
  return undefined;
}

function admitted(gate: AccessGate, exchange: Exchange, admission: Admission): void {
  if (!admission.ok) throw refusalError(admission.refusal);
  if (admission.ticket) exchange.ticket = { gate, id: admission.ticket };
}

function refusalError(refusal: AccessRefusal): InvalidArgumentError {
  return new InvalidArgumentError(refusal.message, {
    details: {
      reason: REFUSAL_REASONS[refusal.reason],
      ...(refusal.retryAfterSeconds !== undefined ? { retryAfterSeconds: refusal.retryAfterSeconds } : {}),
    },
  });
}
