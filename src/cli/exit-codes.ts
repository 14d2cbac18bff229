/**
 * The CLI's one error edge: every failure becomes one line on stderr and an exit code by error code.
 * Stacks are shown only for internal errors with `BYZERLLM_DEBUG=1`.
 */
import { type ErrorCode, toByzerLLMError } from '../core/index.js';
import { message } from './messages.js';

export const EXIT_CODES: Record<ErrorCode, number> = {
  invalid_argument: 2,
  unsupported: 2,
  not_found: 3,
  already_exists: 3,
  insufficient_resources: 4,
  capacity_exhausted: 4,
  timeout: 5,
  upstream_auth: 5,
  upstream_rate_limit: 5,
  upstream_overloaded: 5,
  upstream_bad_request: 5,
  upstream_not_found: 5,
  upstream_error: 5,
  upstream_unreachable: 5,
  head_unreachable: 6,
  worker_failed: 7,
  aborted: 130,
  internal: 1,
};

/** Prints the error as one line and returns the exit code to use. */
export function reportError(
  error: unknown,
  write: (text: string) => void = (text) => process.stderr.write(text),
): number {
  const failure = toByzerLLMError(error);
  const oneLine = failure.message.replace(/\s*\n\s*/g, ' ');
  write(`${message('error', oneLine)}\n`);
  if (failure.code === 'internal') {
    if (process.env.BYZERLLM_DEBUG)
      write(`${(failure.cause as Error | undefined)?.stack ?? failure.stack}\n`);
    else write(`${message('internalHint')}\n`);
  }
  return EXIT_CODES[failure.code] ?? 1;
}
