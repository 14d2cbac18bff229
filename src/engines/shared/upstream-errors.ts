/**
 * Maps what an HTTP upstream says went wrong to the error hierarchy (every HTTP provider uses it).
 *
 * - A non-2xx answer → `upstreamErrorFromStatus` (401/403 auth, 429 rate limit, 404, other 4xx,
 *   5xx retryable) with the message taken from the error body (`{error:{message,type,code,param}}`
 *   and the shapes other vendors use) and the body kept in `details.body`.
 * - An `error` object inside a 2xx stream → `upstream_error`.
 * - Failures below HTTP (refused, reset, DNS, timeouts, aborts) are mapped by the shared
 *   `errorFromTransport` inside the HTTP client, which knows the base URL and timeout.
 *
 * Every upstream text passes through `redactSecrets`: the api key never reaches a message or detail.
 */
import { type ByzerLLMError, UpstreamError, upstreamErrorFromStatus } from '../../core/errors.js';
import type { HttpErrorResponse } from '../shared/http-client.js';
import { redactSecrets, redactSecretsInValue } from '../shared/redact-secrets.js';
import { z } from 'zod';

/**
 * Error bodies: OpenAI's `{error: {message, type, code, param}}`, Ollama's `{error: "text"}`,
 * FastAPI/vLLM's `{detail: …}` or `{message}`.
 */
export const errorBodySchema = z.looseObject({
  error: z
    .union([
      z.string(),
      z.looseObject({
        message: z.string().nullish(),
        type: z.string().nullish(),
        code: z.union([z.string(), z.number()]).nullish(),
        param: z.string().nullish(),
      }),
    ])
    .nullish(),
  message: z.string().nullish(),
  detail: z.unknown().optional(),
});

export interface ErrorMappingContext {
  provider: string;
  /** Values to redact from upstream texts (the api key). */
  secrets: readonly string[];
}

const MAX_MESSAGE_LENGTH = 500;

export function errorFromResponse(response: HttpErrorResponse, context: ErrorMappingContext): ByzerLLMError {
  const bodyText = redactSecrets(response.bodyText, context.secrets);
  let body: unknown =
    bodyText.length > MAX_MESSAGE_LENGTH ? `${bodyText.slice(0, MAX_MESSAGE_LENGTH)}…` : bodyText;
  let message: string | undefined;
  try {
    body = JSON.parse(bodyText);
    message = messageFromErrorBody(body);
  } catch {
    // Not JSON (an HTML page from a proxy, plain text): the text itself is the message.
  }
  message ??=
    typeof body === 'string' && body.trim() !== ''
      ? body.trim()
      : `HTTP ${response.status} with no error message`;
  return upstreamErrorFromStatus({
    provider: context.provider,
    status: response.status,
    message: oneLine(message),
    body,
    ...(response.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: response.retryAfterSeconds }),
  });
}

/** The error a stream chunk carrying `error` stands for. */
export function errorFromStreamPayload(payload: unknown, context: ErrorMappingContext): UpstreamError {
  const redacted = redactSecretsInValue(payload, context.secrets);
  const message = messageFromErrorBody(redacted) ?? 'unknown error';
  return new UpstreamError(
    'upstream_error',
    `${context.provider} reported an error mid-stream: ${oneLine(message)}`,
    {
      details: { provider: context.provider, body: redacted },
    },
  );
}

function messageFromErrorBody(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { error, message, detail } = parsed.data;
  if (typeof error === 'string') return error;
  if (error?.message) return error.message;
  if (message) return message;
  if (typeof detail === 'string') return detail;
  if (detail !== undefined) return JSON.stringify(detail);
  return undefined;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}

/**
 * For vendors that report errors in their own body shape (with any status, 200 included): the
 * vendor's mapping of the parsed body, else the HTTP status mapping above.
 */
export function errorFromVendorResponse<Context extends ErrorMappingContext>(
  response: HttpErrorResponse,
  context: Context,
  errorFromBody: (body: unknown, context: Context) => ByzerLLMError | undefined,
): ByzerLLMError {
  let body: unknown;
  try {
    body = JSON.parse(response.bodyText);
  } catch {
    body = undefined;
  }
  return errorFromBody(body, context) ?? errorFromResponse(response, context);
}
