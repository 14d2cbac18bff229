/**
 * The gateway's view of virtual keys and rate limits: admit a request before it is sent, settle it
 * with what it used after. The head implements it (`AccessControl`, the single counter of a
 * cluster); a gateway in another process reaches the head's over NATS (`NatsAccessGate`), so limits
 * and budgets hold across every gateway at once, never per process.
 */
import { z } from 'zod';

export const accessRequestSchema = z.strictObject({
  /** The request presented the gateway's master API key: no virtual key applies. */
  master: z.boolean(),
  /** The gateway has no master API key: without virtual keys, anyone may call it. */
  open: z.boolean(),
  /** The bearer, when it is not the master key: a virtual key, or wrong. */
  key: z.string().max(512).optional(),
  /** The `model` the request names (a deployment or a route); absent: only the key is checked. */
  model: z.string().max(512).optional(),
  /** Estimated input tokens (from the body's size). */
  inputTokens: z.number().int().min(0),
  /** Estimated output tokens (`max_tokens`, else a default). */
  outputTokens: z.number().int().min(0),
});
export type AccessRequest = z.infer<typeof accessRequestSchema>;

export type AccessRefusalReason =
  | 'unauthenticated'
  | 'model_not_allowed'
  | 'budget_exceeded'
  | 'rate_limited';

export interface AccessRefusal {
  reason: AccessRefusalReason;
  /** Names what was refused and what is allowed. */
  message: string;
  /** For `rate_limited`: when a retry can be admitted. */
  retryAfterSeconds?: number;
}

export type Admission =
  | { ok: true /** Absent when nothing needs settling (no key, no limit on the model). */; ticket?: string }
  | { ok: false; refusal: AccessRefusal };

export const usageReportSchema = z.strictObject({
  ticket: z.string().max(64),
  /** The deployment that answered (a route's target), whose price applies. */
  deployment: z.string().max(512),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  /**
   * How long the request took at the gateway: charged to a key for a deployment without a price
   * whose worker reported no busy seconds (see `metered`).
   */
  seconds: z.number().min(0),
  /**
   * The answer carried its worker's busy seconds (`Usage.cpuSeconds`/`gpuSeconds`), which the head
   * charged when the request left its slot: `seconds` is not charged again.
   */
  metered: z.boolean().optional(),
  /**
   * Requests billed at the deployment's `gateway.price_request`: absent (none) for a refusal or a
   * failure, the images generated for an image generation, else 1.
   */
  requests: z.number().int().min(1).max(1024).optional(),
});
export type UsageReport = z.infer<typeof usageReportSchema>;

export interface AccessGate {
  /**
   * False while no virtual key and no rate limit exist: the gateway then skips the gate entirely
   * (this one boolean is the cost of governance on the common request).
   */
  readonly active: boolean;
  /**
   * Decides on a request. The head's own gate (`AccessControl`) answers at once, without a
   * promise (a hop the gateway beside it need not wait on); one reached over NATS answers later.
   */
  admit(request: AccessRequest): Admission | Promise<Admission>;
  /** Exactly once per admitted ticket, when the answer has been sent (or failed). */
  settle(usage: UsageReport): void;
}
