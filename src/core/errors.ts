/**
 * The one error hierarchy of byzerllm.
 *
 * Every failure that crosses a module boundary is a `ByzerLLMError` with a stable `code`. The code,
 * not the message, is what edges map: the CLI maps it to an exit code (`src/cli/exit-codes.ts`), the
 * OpenAI-compatible server to an HTTP status and error body, transports serialise it with
 * `toJSON()` and rebuild the same class with `errorFromJSON()` on the other side.
 *
 * Messages are one line, name the offending value and, where there is a closed set, what is allowed.
 * `isRetryable` says whether sending the *same* request again may succeed (capacity, rate limits,
 * 5xx, dropped connections); it is computed from the kind of failure, never from message text.
 */

/** Stable machine-readable error codes. Adding one is fine; renaming one is a breaking change. */
export const ERROR_CODES = [
  'invalid_argument',
  'not_found',
  'already_exists',
  'unsupported',
  'insufficient_resources',
  'capacity_exhausted',
  'aborted',
  'timeout',
  'upstream_auth',
  'upstream_rate_limit',
  /** The provider is out of capacity (HTTP 503/529, "overloaded"): unlike a rate limit, not about this caller. */
  'upstream_overloaded',
  'upstream_bad_request',
  'upstream_not_found',
  'upstream_error',
  'upstream_unreachable',
  'head_unreachable',
  'worker_failed',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ByzerLLMErrorOptions {
  /** Whether the same request may succeed when sent again. Defaults per subclass. */
  isRetryable?: boolean;
  /** The underlying error, kept for logs; never shown to end users by the CLI. */
  cause?: unknown;
  /** Structured details that travel with the error (e.g. upstream status and body, capacity). */
  details?: Record<string, unknown>;
}

/** The serialised form used by every transport and the admin API. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  isRetryable: boolean;
  details?: Record<string, unknown>;
}

export class ByzerLLMError extends Error {
  readonly code: ErrorCode;
  readonly isRetryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ByzerLLMErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): SerializedError {
    const serialized: SerializedError = {
      name: this.name,
      code: this.code,
      message: this.message,
      isRetryable: this.isRetryable,
    };
    if (Object.keys(this.details).length > 0) serialized.details = this.details;
    return serialized;
  }
}

/** Bad input from the user: a flag, a parameter, a request field. Printed without a stack. */
export class InvalidArgumentError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('invalid_argument', message, options);
  }
}

/** A named thing (deployment, template, worker) does not exist. */
export class NotFoundError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('not_found', message, options);
  }
}

export class AlreadyExistsError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('already_exists', message, options);
  }
}

/** The model or engine cannot do what was asked (e.g. embeddings on a chat-only engine). */
export class UnsupportedError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('unsupported', message, options);
  }
}

/** A deployment asks for more CPUs/GPUs/memory than the node or cluster has. */
export class InsufficientResourcesError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('insufficient_resources', message, options);
  }
}

/** Every worker slot of a deployment stayed busy for the whole wait time. Retryable. */
export class CapacityError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('capacity_exhausted', message, { isRetryable: true, ...options });
  }
}

/** The caller cancelled (AbortSignal) or the client went away. */
export class AbortedError extends ByzerLLMError {
  constructor(message = 'the request was aborted', options: ByzerLLMErrorOptions = {}) {
    super('aborted', message, options);
  }
}

export class TimeoutError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('timeout', message, { isRetryable: true, ...options });
  }
}

/**
 * A failure reported by, or on the way to, an upstream provider (SaaS API, local engine server).
 * `details.status` and `details.body` carry what the provider said.
 */
export class UpstreamError extends ByzerLLMError {}

/** Builds the right `UpstreamError` for an HTTP status from a provider. */
export function upstreamErrorFromStatus(input: {
  provider: string;
  status: number;
  message: string;
  body?: unknown;
  retryAfterSeconds?: number;
}): UpstreamError {
  const { provider, status } = input;
  const details: Record<string, unknown> = { provider, status };
  if (input.body !== undefined) details.body = input.body;
  if (input.retryAfterSeconds !== undefined) details.retryAfterSeconds = input.retryAfterSeconds;
  const message = `${provider} answered HTTP ${status}: ${input.message}`;
  if (status === 401 || status === 403) return new UpstreamError('upstream_auth', message, { details });
  if (status === 429)
    return new UpstreamError('upstream_rate_limit', message, { details, isRetryable: true });
  if (status === 503 || status === 529)
    return new UpstreamError('upstream_overloaded', message, { details, isRetryable: true });
  if (status === 404) return new UpstreamError('upstream_not_found', message, { details });
  if (status === 408) return new UpstreamError('timeout', message, { details, isRetryable: true });
  if (status >= 400 && status < 500) return new UpstreamError('upstream_bad_request', message, { details });
  return new UpstreamError('upstream_error', message, { details, isRetryable: status >= 500 });
}

/** The head process (admin API) cannot be reached at the given address. */
export class HeadUnreachableError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('head_unreachable', message, { isRetryable: true, ...options });
  }
}

/** A worker crashed or failed to start. Retryable: another worker may serve the request. */
export class WorkerFailedError extends ByzerLLMError {
  constructor(message: string, options: ByzerLLMErrorOptions = {}) {
    super('worker_failed', message, { isRetryable: true, ...options });
  }
}

const classByCode: Partial<
  Record<ErrorCode, new (message: string, options?: ByzerLLMErrorOptions) => ByzerLLMError>
> = {
  invalid_argument: InvalidArgumentError,
  not_found: NotFoundError,
  already_exists: AlreadyExistsError,
  unsupported: UnsupportedError,
  insufficient_resources: InsufficientResourcesError,
  capacity_exhausted: CapacityError,
  aborted: AbortedError,
  timeout: TimeoutError,
  head_unreachable: HeadUnreachableError,
  worker_failed: WorkerFailedError,
};

/** Rebuilds an error serialised by `ByzerLLMError.toJSON()`, keeping its class where known. */
export function errorFromJSON(serialized: SerializedError): ByzerLLMError {
  const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(serialized.code)
    ? serialized.code
    : 'internal';
  const options: ByzerLLMErrorOptions = { isRetryable: serialized.isRetryable };
  if (serialized.details) options.details = serialized.details;
  const ErrorClass = classByCode[code];
  if (ErrorClass) return new ErrorClass(serialized.message, options);
  if (code.startsWith('upstream_')) return new UpstreamError(code, serialized.message, options);
  return new ByzerLLMError(code, serialized.message, options);
}

/** Wraps anything thrown into a `ByzerLLMError` (unknown errors become `internal`). */
export function toByzerLLMError(error: unknown): ByzerLLMError {
  if (error instanceof ByzerLLMError) return error;
  if (error instanceof Error && error.name === 'AbortError')
    return new AbortedError(undefined, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new ByzerLLMError('internal', message, { cause: error });
}

/** Throws `AbortedError` if the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}
