/**
 * Small pieces of an upstream request that `HttpClient` and its whole-answer path share: the path
 * with the base URL's query, header names lower-cased, a call's own headers over the client's.
 */
import type { HttpCallOptions } from './http-client-options.js';
import type { ResponseHeaders } from './retry-policy.js';

/** Prefix + path, with the base URL's query (Azure's `api-version`) merged into the path's own. */
export function joinPath(prefix: string, path: string, baseQuery: string): string {
  if (baseQuery === '') return `${prefix}${path}`;
  return path.includes('?') ? `${prefix}${path}&${baseQuery.slice(1)}` : `${prefix}${path}${baseQuery}`;
}

export function isJsonContentType(headers: ResponseHeaders): boolean {
  const value = headers['content-type'];
  return /^application\/json/i.test(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
}

export function withCallHeaders(
  headers: Record<string, string>,
  options: HttpCallOptions,
): Record<string, string> {
  return options.headers ? { ...headers, ...lowerCaseKeys(options.headers) } : headers;
}

export function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
  return result;
}
