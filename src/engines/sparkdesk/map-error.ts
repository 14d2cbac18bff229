/**
 * Spark failures → the error hierarchy. Spark answers a failed call with a frame whose
 * `header.code` is not 0, then closes; a failed handshake is an HTTP answer (401/403 for a bad
 * signature or date) instead of the upgrade.
 *
 * - 11200 (no licence / no permission), 10313, 10316 (app id mismatch) → auth.
 * - 11201 (daily limit), 11202 (QPS limit), 11203 (concurrency limit) → rate limit, retryable.
 * - 10000–10012, 10110 (server busy), 10222, 10223 (internal network) → server, retryable.
 * - everything else (10013/10014/10019 content audit, 10163 parameters, 10907 too long) → bad request.
 */
import type { ByzerLLMError } from '../../core/errors.js';
import { upstreamErrorFromStatus } from '../../core/errors.js';
import { redactSecrets } from '../shared/redact-secrets.js';
import { type VendorErrorKind, vendorError } from '../shared/vendor-error.js';

export interface SparkErrorContext {
  provider: string;
  secrets: readonly string[];
}

const AUTH = new Set([11200, 10313, 10316]);
const RATE = new Set([11201, 11202, 11203]);
const SERVER = new Set([10110, 10222, 10223]);

export function errorFromFrame(
  header: { code: number; message?: string | null | undefined; sid?: string | null | undefined },
  context: SparkErrorContext,
): ByzerLLMError {
  const code = header.code;
  const kind: VendorErrorKind = AUTH.has(code)
    ? 'auth'
    : RATE.has(code)
      ? 'rate_limit'
      : SERVER.has(code) || (code >= 10000 && code <= 10012)
        ? 'server'
        : 'bad_request';
  return vendorError({ ...context, kind, vendorCode: code, message: header.message ?? '', body: { header } });
}

export function errorFromHandshake(
  status: number,
  bodyText: string,
  context: SparkErrorContext,
): ByzerLLMError {
  const text = redactSecrets(bodyText, context.secrets);
  let message = text.trim() || `HTTP ${status}`;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Plain text or HTML: keep it as is.
  }
  return upstreamErrorFromStatus({ provider: context.provider, status, message: message.slice(0, 500) });
}
