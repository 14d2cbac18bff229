/**
 * Reading a provider's `saas.*` parameters (`--infer_params`, all strings) the same way everywhere:
 * unknown `saas.*` keys become one warning each naming the key and the known ones; required values
 * fail with `InvalidArgumentError` naming the key; numbers and URLs are validated; secret values are
 * never echoed in a message.
 */
import { InvalidArgumentError } from '../../core/errors.js';

/** Parameters every HTTP provider accepts. */
export const COMMON_SAAS_PARAMS = ['saas.model', 'saas.base_url', 'saas.timeout', 'saas.max_retries'];

export class SaasParams {
  constructor(
    private readonly inferParams: Record<string, string>,
    private readonly provider: string,
  ) {}

  /** Warns once per `saas.*` key that is not in `known`. */
  warnUnknown(known: readonly string[], warn: (message: string) => void): void {
    for (const key of Object.keys(this.inferParams)) {
      if (key.startsWith('saas.') && !known.includes(key)) {
        warn(`unknown parameter ${key} ignored by ${this.provider} (known: ${known.join(', ')})`);
      }
    }
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
    const value = this.optional(key);
    if (value === undefined) return fallbackSeconds * 1000;
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new InvalidArgumentError(`${key} must be a number of seconds > 0, got "${value}"`);
    }
    return seconds * 1000;
  }

  wholeNumber(key: string, fallback: number): number {
    const value = this.optional(key);
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) {
      throw new InvalidArgumentError(`${key} must be a whole number >= 0, got "${value}"`);
    }
    return number;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new InvalidArgumentError(`${key} must be true or false, got "${value}"`);
  }
}
