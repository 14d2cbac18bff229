/**
 * The two failures every provider's stream reader can meet, reported the same way everywhere.
 */
import { UpstreamError } from '../../core/errors.js';

/** Parses one stream event's data; data that is not JSON is an `upstream_error` naming the provider. */
export function parseStreamEventJson(data: string, provider: string): unknown {
  try {
    return JSON.parse(data);
  } catch (error) {
    throw new UpstreamError('upstream_error', `${provider} sent a stream event that is not JSON`, {
      cause: error,
      details: { provider, data: data.slice(0, 200) },
    });
  }
}

/**
 * A stream that ended before the provider's end marker (`how`, e.g. "before message_stop"). Retryable:
 * the connection, not the request, was at fault.
 */
export function incompleteStreamError(provider: string, how: string): UpstreamError {
  return new UpstreamError('upstream_error', `${provider} ${how}`, {
    isRetryable: true,
    details: { provider },
  });
}
