/**
 * Maps failures below HTTP (no status code was ever received) to the error hierarchy:
 * the caller's abort → `AbortedError`; undici header/body timeouts → `TimeoutError`; refused, reset,
 * DNS and other socket failures → `UpstreamError('upstream_unreachable')`, retryable, naming the base
 * URL so a user can see which endpoint is down — or `upstream_error` (retryable) when the connection
 * broke while a 2xx answer was being read. Anything else becomes `upstream_error`.
 */
import { AbortedError, ByzerLLMError, TimeoutError, UpstreamError } from '../../core/errors.js';

export interface TransportErrorContext {
  provider: string;
  /** The base URL as shown to users (no credentials). */
  baseUrl: string;
  /** The configured idle timeout, for the message. */
  timeoutMs: number;
  /** The caller's signal: when aborted, any failure is reported as the abort it caused. */
  signal?: { readonly aborted: boolean };
  /** The failure came while reading a 2xx answer: the host was reachable, the connection broke. */
  midStream?: boolean;
}

/** Socket-level error codes meaning "could not talk to the host" (Node and undici spellings). */
const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the upstream',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_CLOSED: 'connection pool closed',
  UND_ERR_DESTROYED: 'connection pool closed',
};

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function errorFromTransport(error: unknown, context: TransportErrorContext): ByzerLLMError {
  if (context.signal?.aborted || isAbortError(error)) return new AbortedError(undefined, { cause: error });
  if (error instanceof ByzerLLMError) return error;
  const code = errorCode(error);
  const details = { provider: context.provider, baseUrl: context.baseUrl, ...(code ? { errno: code } : {}) };
  if (code && TIMEOUT_CODES.has(code)) {
    const seconds = context.timeoutMs / 1000;
    return new TimeoutError(
      `${context.provider} at ${context.baseUrl} sent no data for ${seconds} s (saas.timeout)`,
      {
        cause: error,
        details,
      },
    );
  }
  const reason = code ? UNREACHABLE_CODES[code] : undefined;
  if (reason && context.midStream) {
    return new UpstreamError(
      'upstream_error',
      `the connection to ${context.provider} at ${context.baseUrl} broke mid-answer: ${reason} (${code})`,
      {
        isRetryable: true,
        cause: error,
        details,
      },
    );
  }
  if (reason) {
    return new UpstreamError(
      'upstream_unreachable',
      `cannot reach ${context.provider} at ${context.baseUrl}: ${reason} (${code})`,
      {
        isRetryable: true,
        cause: error,
        details,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamError(
    'upstream_error',
    `request to ${context.provider} at ${context.baseUrl} failed: ${message}`,
    {
      cause: error,
      details,
    },
  );
}

function isAbortError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'AbortError' || (error as { code?: unknown }).code === 'UND_ERR_ABORTED')
  );
}

/** The errno-style code of an error, looking into `AggregateError`s (happy eyeballs) and causes. */
function errorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  if (error instanceof AggregateError) return errorCode(error.errors[0]);
  return error.cause === undefined ? undefined : errorCode(error.cause);
}
