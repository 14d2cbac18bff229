/**
 * Errors on every wire of the cluster (admin API, NATS, worker IPC): a `ByzerLLMError` travels as its
 * `SerializedError` (`toJSON()`) and is rebuilt with the same class (`errorFromJSON`), so a caller
 * sees the error the engine threw whatever carried it. Replies that can fail are `Reply<Result>`.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode, type SerializedError, toByzerLLMError } from '../../core/errors.js';

export { errorFromJSON as decodeError } from '../../core/errors.js';

/** Any thrown value as a serialized `ByzerLLMError` (unknown throws become `internal`). */
export function encodeError(error: unknown): SerializedError {
  return toByzerLLMError(error).toJSON();
}

/** The answer to a request that can fail. */
export type Reply<Result> = { ok: true; result: Result } | { ok: false; error: SerializedError };

/** The failed reply for any thrown value. */
export function failureReply(error: unknown): { ok: false; error: SerializedError } {
  return { ok: false, error: encodeError(error) };
}

/** Unknown codes (a newer peer) become `internal`, as `errorFromJSON` does. */
export const serializedErrorSchema = z.object({
  name: z.string(),
  code: z
    .string()
    .transform(
      (code): ErrorCode =>
        (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'internal',
    ),
  message: z.string(),
  isRetryable: z.boolean(),
  details: z.record(z.string(), z.unknown()).optional(),
});
