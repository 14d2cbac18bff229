/**
 * Reading the `saas.*` parameters every SaaS provider shares, so each one validates them the same
 * way and says the same thing about a bad value:
 *
 * - `saas.timeout` — seconds without data before `TimeoutError` (default 600).
 * - `saas.max_retries` — retries of retryable failures (429, 5xx, dropped connections; default 2).
 * - `saas.deadline` — seconds one request may take in total, across its retries (default 600); a
 *   stream is bounded until it starts, then by `saas.timeout` between chunks.
 * - `saas.proxies` — an http(s) proxy URL every request goes through (the seeds' httpx `proxies`).
 *
 * `warnUnknownParams` is the one rule for keys a provider does not know: a warning naming the key
 * (and the known ones), never an exception — a typo must not take a deployment down.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { DEFAULT_DEADLINE_MS } from './request-deadline.js';

/** The parameters every HTTP provider accepts on top of its own. */
export const COMMON_SAAS_PARAMS = [
  'saas.timeout',
  'saas.max_retries',
  'saas.deadline',
  'saas.proxies',
] as const;

/** Warns once per `saas.*` key that is not in `known`. */
export function warnUnknownParams(
  inferParams: Record<string, string>,
  known: readonly string[],
  provider: string,
  warn: (message: string) => void,
): void {
  for (const key of Object.keys(inferParams)) {
    if (key.startsWith('saas.') && !known.includes(key)) {
      warn(`unknown parameter ${key} ignored by ${provider} (known: ${known.join(', ')})`);
    }
  }
}

/** A required, non-empty parameter; the error names the key and how to pass it. */
export function requireParam(inferParams: Record<string, string>, name: string, provider: string): string {
  const value = inferParams[name]?.trim();
  if (!value) throw new InvalidArgumentError(`${name} is required by ${provider} (--infer_params ${name}=…)`);
  return value;
}

/** An http(s) URL without its trailing slash. */
export function readHttpUrl(name: string, value: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new InvalidArgumentError(`${name} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${name} must be an http(s) URL, got "${value}"`);
  }
  return trimmed;
}

/**
 * `saas.proxies`: a proxy URL, or the seeds' httpx-style JSON map (`{"https://": "http://proxy:3128"}`),
 * of which the `https://` (else `all://`, else `http://`) entry is used. Not echoed on error: proxy
 * URLs often carry credentials.
 */
export function readProxyUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let candidate = value.trim();
  if (candidate.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(candidate);
    } catch {
      throw new InvalidArgumentError(
        'saas.proxies must be a proxy URL or a JSON object; it is not valid JSON',
      );
    }
    const map = (parsed ?? {}) as Record<string, unknown>;
    const chosen = map['https://'] ?? map['all://'] ?? map['http://'];
    if (typeof chosen !== 'string') {
      throw new InvalidArgumentError(
        'saas.proxies as JSON needs an "https://", "all://" or "http://" key with a proxy URL',
      );
    }
    candidate = chosen;
  }
  try {
    const url = new URL(candidate);
    if (url.protocol === 'http:' || url.protocol === 'https:') return candidate;
  } catch {
    // Reported below without the value.
  }
  throw new InvalidArgumentError('saas.proxies must be an http:// or https:// proxy URL');
}

/** A number parameter: seconds (> 0, fractions allowed) or a count (whole, >= 0). */
export function readNumberParam(
  name: string,
  value: string | undefined,
  fallback: number,
  options: { integer: boolean },
): number {
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  const valid = options.integer
    ? Number.isInteger(number) && number >= 0
    : Number.isFinite(number) && number > 0;
  if (!valid) {
    const expected = options.integer ? 'a whole number >= 0' : 'a number of seconds > 0';
    throw new InvalidArgumentError(`${name} must be ${expected}, got "${value}"`);
  }
  return number;
}

/** The shared transport settings: idle timeout, retries and proxy. */
export interface SaasTransportParams {
  timeoutMs: number;
  maxRetries: number;
  /** `saas.deadline`: the total time of one request across its retries. */
  deadlineMs: number;
  proxyUrl?: string;
}

export function readTransportParams(inferParams: Record<string, string>): SaasTransportParams {
  const params: SaasTransportParams = {
    timeoutMs: readNumberParam('saas.timeout', inferParams['saas.timeout'], 600, { integer: false }) * 1000,
    maxRetries: readNumberParam('saas.max_retries', inferParams['saas.max_retries'], 2, { integer: true }),
    deadlineMs: readDeadlineMs(inferParams),
  };
  const proxyUrl = readProxyUrl(inferParams['saas.proxies']);
  if (proxyUrl) params.proxyUrl = proxyUrl;
  return params;
}

/** `saas.deadline` in milliseconds (default 600 s). */
export function readDeadlineMs(inferParams: Record<string, string>): number {
  const seconds = DEFAULT_DEADLINE_MS / 1000;
  return readNumberParam('saas.deadline', inferParams['saas.deadline'], seconds, { integer: false }) * 1000;
}

/** The parameters of providers built on `SaasParams` (model, endpoint, timeout, retries, deadline). */
export const COMMON_HTTP_SAAS_PARAMS = [
  'saas.model',
  'saas.base_url',
  'saas.timeout',
  'saas.max_retries',
  'saas.deadline',
];

/**
 * The same rules as the functions above, as one reader per provider: unknown `saas.*` keys warned
 * by name, required values named when missing, numbers and URLs validated, secrets never echoed.
 */
export class SaasParams {
  constructor(
    private readonly inferParams: Record<string, string>,
    private readonly provider: string,
  ) {}

  /** Warns once per `saas.*` key that is not in `known`. */
  warnUnknown(known: readonly string[], warn: (message: string) => void): void {
    warnUnknownParams(this.inferParams, known, this.provider, warn);
  }

  optional(key: string): string | undefined {
    const value = this.inferParams[key]?.trim();
    return value ? value : undefined;
  }

  required(key: string): string {
    const value = this.optional(key);
    if (!value) {
      throw new InvalidArgumentError(`${this.provider} needs ${key} (--infer_params ${key}=…)`);
    }
    return value;
  }

  string(key: string, fallback: string): string {
    return this.optional(key) ?? fallback;
  }

  /** An http(s) (or, with `schemes`, other) URL without its trailing slash. */
  url(key: string, fallback: string, schemes: readonly string[] = ['http:', 'https:']): string {
    const value = (this.optional(key) ?? fallback).replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidArgumentError(`${key} must be a URL (${schemes.join(' or ')}), got "${value}"`);
    }
    if (!schemes.includes(url.protocol)) {
      throw new InvalidArgumentError(`${key} must be a URL (${schemes.join(' or ')}), got "${value}"`);
    }
    return value;
  }

  /** Seconds > 0, returned in milliseconds. */
  timeoutMs(key: string, fallbackSeconds: number): number {
    return readNumberParam(key, this.optional(key), fallbackSeconds, { integer: false }) * 1000;
  }

  /** `saas.deadline` in milliseconds (default 600 s). */
  deadlineMs(): number {
    return readDeadlineMs(this.inferParams);
  }

  wholeNumber(key: string, fallback: number): number {
    return readNumberParam(key, this.optional(key), fallback, { integer: true });
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new InvalidArgumentError(`${key} must be true or false, got "${value}"`);
  }
}
