/**
 * iFlytek Spark's HMAC-signed WebSocket URL (the documented "hmac-sha256" authentication):
 *
 * ```
 * signature_origin = "host: {host}\ndate: {RFC1123 date}\nGET {path} HTTP/1.1"
 * signature        = base64(HMAC-SHA256(api_secret, signature_origin))
 * authorization    = base64('api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line", signature="{signature}"')
 * url              = gpt_url ? authorization=…&date=…&host=…   (URL-encoded)
 * ```
 * The date is part of the signature and the server rejects stale ones, so every connection signs
 * anew.
 */
import { createHmac } from 'node:crypto';

export interface SparkCredentials {
  apiKey: string;
  apiSecret: string;
}

export function signSparkUrl(gptUrl: string, credentials: SparkCredentials, now: Date = new Date()): string {
  const url = new URL(gptUrl);
  const date = now.toUTCString();
  const signatureOrigin = `host: ${url.host}\ndate: ${date}\nGET ${url.pathname} HTTP/1.1`;
  const signature = createHmac('sha256', credentials.apiSecret).update(signatureOrigin).digest('base64');
  const authorizationOrigin = `api_key="${credentials.apiKey}", algorithm="hmac-sha256", headers="host date request-line", signature="${signature}"`;
  const query = new URLSearchParams({
    authorization: Buffer.from(authorizationOrigin).toString('base64'),
    date,
    host: url.host,
  });
  return `${url.origin}${url.pathname}?${query}`;
}

/** The `domain` each API version serves (Spark Lite/v1.5, v2, v3, v3.5, v4 Ultra). */
export const SPARK_DOMAINS: Record<string, string> = {
  'v1.1': 'general',
  'v2.1': 'generalv2',
  'v3.1': 'generalv3',
  'v3.5': 'generalv3.5',
  'v4.0': '4.0Ultra',
};

/** The default domain for a `gpt_url` (`…/v3.1/chat` → `generalv3`), or undefined if unknown. */
export function domainForUrl(gptUrl: string): string | undefined {
  const version = /\/(v\d+\.\d+)\/chat\/?$/.exec(new URL(gptUrl).pathname)?.[1];
  return version ? SPARK_DOMAINS[version] : undefined;
}
