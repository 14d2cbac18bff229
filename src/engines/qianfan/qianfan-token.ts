/**
 * The Qianfan access token: exchanged from `api_key` + `secret_key` at
 * `POST {base}/oauth/2.0/token?grant_type=client_credentials&client_id=…&client_secret=…`, cached
 * until a minute before `expires_in` runs out, shared by concurrent requests (one exchange in
 * flight at a time), and dropped when the API says it is invalid (codes 110/111) so the next call
 * exchanges again. A fixed `access_token` parameter is used as is and never refreshed.
 */
import type { CallOptions } from '../../core/chat-model.js';
import { parseWireBody } from '../shared/wire-body.js';
import type { HttpClient } from '../shared/http-client.js';
import { tokenResponseSchema } from './wire-schemas.js';

const REFRESH_MARGIN_MS = 60_000;

export type QianfanCredentials = { apiKey: string; secretKey: string } | { accessToken: string };

export class QianfanTokenSource {
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  /** Exchanges made so far (tests assert caching with it). */
  exchanges = 0;

  constructor(
    private readonly credentials: QianfanCredentials,
    private readonly client: HttpClient,
    private readonly provider: string,
    private readonly now: () => number = Date.now,
  ) {}

  get refreshable(): boolean {
    return !('accessToken' in this.credentials);
  }

  async token(options: CallOptions = {}): Promise<string> {
    if ('accessToken' in this.credentials) return this.credentials.accessToken;
    if (this.cached && this.cached.expiresAt > this.now()) return this.cached.token;
    this.pending ??= this.exchange(this.credentials, options).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets `token` if it is still the cached one (another request may have refreshed it already). */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async exchange(
    credentials: { apiKey: string; secretKey: string },
    options: CallOptions,
  ): Promise<string> {
    this.exchanges++;
    const query = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.apiKey,
      client_secret: credentials.secretKey,
    });
    const response = await this.client.postJson(`/oauth/2.0/token?${query}`, {}, options);
    const parsed = parseWireBody(tokenResponseSchema, response.body, {
      provider: this.provider,
      what: 'token response',
    });
    const lifetimeMs = (parsed.expires_in ?? 2_592_000) * 1000;
    this.cached = {
      token: parsed.access_token,
      expiresAt: this.now() + Math.max(lifetimeMs - REFRESH_MARGIN_MS, 0),
    };
    return parsed.access_token;
  }
}
