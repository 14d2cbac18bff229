/**
 * Provider options: every SaaS engine declares its `saas.*` parameters as one zod object schema on a
 * shared base (`baseProviderOptions`), as vercel/ai's providers declare their `providerOptions`. The
 * schema is the one source of truth: the engine reads its typed options from it, unknown keys are
 * warned about with the allowed list, and docs/providers.md's parameter tables are checked against
 * it (test/engines/provider-options-docs.test.ts).
 *
 * Values arrive as strings (`--infer_params saas.key=value`); each option schema takes the trimmed
 * string (`undefined` when absent or blank) and gives the typed value. A schema that rejects
 * `undefined` is a required option. `meta({ description, default })` documents the option: the
 * default as a user writes it (`600` seconds, not the milliseconds the engine gets).
 *
 * Errors are `InvalidArgumentError`s naming the key; values of secrets and proxies are never echoed.
 * Unknown keys are warnings, never exceptions: a typo must not take a deployment down.
 */
import { z } from 'zod';
import type { EngineContext } from '../../core/deployment.js';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.js';
import { HttpClient, type HttpClientOptions } from './http-client.js';
import { DEFAULT_DEADLINE_MS } from './request-deadline.js';

/** What docs/providers.md says about one option. */
export interface OptionMeta {
  description: string;
  /** The default as written on the command line; absent for required options and plain optionals. */
  default?: string;
}

type OptionInput = string | undefined;

function documented<Schema extends z.ZodType>(schema: Schema, meta: OptionMeta): Schema {
  return schema.meta({ ...meta }) as Schema;
}

/** A required string (secrets included). */
export function requiredText(description: string) {
  return documented(z.string({ error: 'is required' }), { description });
}

/** An optional string: the value, else `fallback` (a documented default), else `undefined`. */
export function text(description: string): z.ZodType<string | undefined, OptionInput>;
export function text(description: string, fallback: string): z.ZodType<string, OptionInput>;
export function text(description: string, fallback?: string): z.ZodType<string | undefined, OptionInput> {
  const schema = z
    .string()
    .optional()
    .transform((value) => value ?? fallback);
  return documented(schema, fallback === undefined ? { description } : { description, default: fallback });
}

/** An http(s) (or, with `schemes`, other) URL without its trailing slash. */
export function url(
  description: string,
  fallback: string,
  schemes: readonly string[] = ['http:', 'https:'],
): z.ZodType<string, OptionInput> {
  const schema = z
    .string()
    .optional()
    .transform((value, context) => {
      const trimmed = (value ?? fallback).replace(/\/+$/, '');
      if (!schemes.includes(protocolOf(trimmed) ?? '')) {
        context.addIssue({
          code: 'custom',
          message: `must be a URL (${schemes.join(' or ')}), got "${trimmed}"`,
        });
        return z.NEVER;
      }
      return trimmed;
    });
  return documented(schema, { description, default: fallback });
}

/** An optional http(s) URL without its trailing slash. */
export function optionalUrl(description: string): z.ZodType<string | undefined, OptionInput> {
  const schema = z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const trimmed = value.replace(/\/+$/, '');
      if (protocolOf(trimmed) !== 'http:' && protocolOf(trimmed) !== 'https:') {
        context.addIssue({ code: 'custom', message: `must be an http(s) URL, got "${value}"` });
        return z.NEVER;
      }
      return trimmed;
    });
  return documented(schema, { description });
}

function protocolOf(value: string): string | undefined {
  try {
    return new URL(value).protocol;
  } catch {
    return undefined;
  }
}

/** Seconds > 0 (fractions allowed), given to the engine in milliseconds. */
export function seconds(description: string, fallbackSeconds: number): z.ZodType<number, OptionInput> {
  const schema = z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return fallbackSeconds * 1000;
      const number = Number(value);
      if (!Number.isFinite(number) || number <= 0) {
        context.addIssue({ code: 'custom', message: `must be a number of seconds > 0, got "${value}"` });
        return z.NEVER;
      }
      return number * 1000;
    });
  return documented(schema, { description, default: String(fallbackSeconds) });
}

/** A whole number >= 0. */
export function wholeNumber(description: string, fallback: number): z.ZodType<number, OptionInput> {
  const schema = z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return fallback;
      const number = Number(value);
      if (!Number.isInteger(number) || number < 0) {
        context.addIssue({ code: 'custom', message: `must be a whole number >= 0, got "${value}"` });
        return z.NEVER;
      }
      return number;
    });
  return documented(schema, { description, default: String(fallback) });
}

/** `true`/`1` or `false`/`0`; without a fallback, `undefined` when not given. */
export function flag(description: string, fallback: boolean): z.ZodType<boolean, OptionInput>;
export function flag(description: string): z.ZodType<boolean | undefined, OptionInput>;
export function flag(description: string, fallback?: boolean): z.ZodType<boolean | undefined, OptionInput> {
  const schema = z
    .string()
    .optional()
    .transform((value, context) => {
      const lower = value?.toLowerCase();
      if (lower === undefined) return fallback;
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      context.addIssue({ code: 'custom', message: `must be true or false, got "${value}"` });
      return z.NEVER;
    });
  return documented(
    schema,
    fallback === undefined ? { description } : { description, default: String(fallback) },
  );
}

/**
 * `saas.proxies`: a proxy URL, or Byzer-LLM's httpx-style JSON map (`{"https://": "http://proxy:3128"}`),
 * of which the `https://` (else `all://`, else `http://`) entry is used. Not echoed on error: proxy
 * URLs often carry credentials.
 */
export const proxiesOption = documented(
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const chosen = value.startsWith('{') ? proxyFromMap(value) : { ok: true as const, url: value };
      if (!chosen.ok) {
        context.addIssue({ code: 'custom', message: chosen.problem });
        return z.NEVER;
      }
      const candidate = chosen.url;
      const protocol = protocolOf(candidate);
      if (protocol !== 'http:' && protocol !== 'https:') {
        context.addIssue({ code: 'custom', message: 'must be an http:// or https:// proxy URL' });
        return z.NEVER;
      }
      return candidate;
    }),
  {
    description:
      'an `http(s)://` proxy URL every request goes through, or Byzer-LLM\'s JSON map (`{"https://": "http://proxy:3128"}`)',
  },
);

function proxyFromMap(value: string): { ok: true; url: string } | { ok: false; problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ok: false, problem: 'must be a proxy URL or a JSON object; it is not valid JSON' };
  }
  const map = (parsed ?? {}) as Record<string, unknown>;
  const chosen = map['https://'] ?? map['all://'] ?? map['http://'];
  if (typeof chosen !== 'string') {
    return {
      ok: false,
      problem: 'as JSON needs an "https://", "all://" or "http://" key with a proxy URL',
    };
  }
  return { ok: true, url: chosen };
}

/** The options every HTTP provider takes on top of its own. */
export const baseProviderOptions = {
  'saas.timeout': seconds(
    'idle seconds (before the headers, or between stream chunks) before a timeout',
    600,
  ),
  'saas.max_retries': wholeNumber('retries of retryable failures (429, 5xx, dropped connections)', 2),
  'saas.deadline': seconds(
    'total seconds of one request across all its attempts and backoffs',
    DEFAULT_DEADLINE_MS / 1000,
  ),
  'saas.proxies': proxiesOption,
} as const;

export type OptionShape = Record<`saas.${string}`, z.ZodType<unknown, OptionInput>>;

/** A provider's declared options and the one way to read them. */
export interface ProviderOptions<Shape extends OptionShape> {
  /** The name in messages (`saas/qianwen`). */
  readonly provider: string;
  readonly shape: Shape;
  /** At deploy: fails if the deploy was aborted, else `parse` of the spec's params, warnings to the context. */
  fromContext(context: EngineContext): { [Key in keyof Shape]: z.output<Shape[Key]> };
  /** Validates the `saas.*` params: typed values, or an `InvalidArgumentError` naming the key. */
  parse(
    inferParams: Record<string, string>,
    warn: (message: string) => void,
  ): { [Key in keyof Shape]: z.output<Shape[Key]> };
}

/**
 * Declares a provider's options: `shape` extends (and may override) the base; `omit` drops base
 * options the provider cannot honour (SparkDesk's WebSocket has no proxy support).
 */
export function defineProviderOptions<
  Own extends OptionShape,
  Omitted extends keyof typeof baseProviderOptions = never,
>(
  provider: string,
  own: Own,
  settings: { omit?: readonly Omitted[] } = {},
): ProviderOptions<Omit<typeof baseProviderOptions, keyof Own | Omitted> & Own> {
  const base: OptionShape = { ...baseProviderOptions };
  for (const key of settings.omit ?? []) delete base[key];
  const shape = { ...base, ...own } as Omit<typeof baseProviderOptions, keyof Own | Omitted> & Own;
  const schema = z.object(shape);
  const known = Object.keys(shape);
  return {
    provider,
    shape,
    fromContext(context) {
      throwIfAborted(context.signal);
      return this.parse(context.spec.inferParams, context.warn);
    },
    parse(inferParams, warn) {
      warnUnknownParams(inferParams, known, provider, warn);
      const input: Record<string, string> = {};
      for (const key of known) {
        const value = inferParams[key]?.trim();
        if (value) input[key] = value;
      }
      const parsed = schema.safeParse(input);
      if (parsed.success) return parsed.data as never;
      const issue = parsed.error.issues[0]!;
      const key = String(issue.path[0]);
      if (input[key] === undefined) {
        throw new InvalidArgumentError(`${key} is required by ${provider} (--infer_params ${key}=…)`);
      }
      throw new InvalidArgumentError(`${key} ${issue.message}`);
    },
  };
}

/** Warns once per `saas.*` key that is not in `known`, naming the allowed keys. */
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

/** An option's documentation, as `meta()` recorded it. */
export function optionMeta(schema: z.ZodType): OptionMeta {
  return (schema.meta() ?? { description: '' }) as unknown as OptionMeta;
}

/** Whether an option must be given. */
export function isRequiredOption(schema: z.ZodType): boolean {
  return !schema.safeParse(undefined).success;
}

/** The HTTP client settings of the base options (spread into `new HttpClient({...})`). */
export function transportOf(options: {
  'saas.timeout': number;
  'saas.max_retries': number;
  'saas.deadline': number;
  'saas.proxies'?: string | undefined;
}): { timeoutMs: number; maxRetries: number; deadlineMs: number; proxyUrl?: string } {
  const proxyUrl = options['saas.proxies'];
  return {
    timeoutMs: options['saas.timeout'],
    maxRetries: options['saas.max_retries'],
    deadlineMs: options['saas.deadline'],
    ...(proxyUrl ? { proxyUrl } : {}),
  };
}

/** An http(s) URL without its trailing slash (for values a provider picks among several keys). */
export function readHttpUrl(name: string, value: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  const protocol = protocolOf(trimmed);
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new InvalidArgumentError(`${name} must be an http(s) URL, got "${value}"`);
  }
  return trimmed;
}

/**
 * The HTTP client of a provider: `saas.base_url` (unless `baseUrl` is given) and the transport
 * options (timeout, retries, deadline, proxy) from its parsed options.
 */
export function providerClient(
  options: Parameters<typeof transportOf>[0] & { 'saas.base_url'?: string },
  settings: Pick<HttpClientOptions, 'provider' | 'headers' | 'errorFromResponse' | 'requestHeaders'> & {
    baseUrl?: string;
  },
): HttpClient {
  const baseUrl = settings.baseUrl ?? options['saas.base_url'];
  if (baseUrl === undefined) throw new InvalidArgumentError(`${settings.provider} needs saas.base_url`);
  return new HttpClient({ ...transportOf(options), ...settings, baseUrl });
}

/** The option builders, used as `option.text(…)` in a provider's declaration (as zod's `z.string()`). */
export const option = { requiredText, text, url, optionalUrl, seconds, wholeNumber, flag } as const;
