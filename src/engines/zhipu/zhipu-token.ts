/**
 * Zhipu's API-key JWT, as the official `zhipuai` SDK makes it: the key is `<id>.<secret>`; the
 * token is an HS256 JWT with header `{"alg":"HS256","sign_type":"SIGN"}` and payload
 * `{"api_key": <id>, "exp": <ms>, "timestamp": <ms>}` (milliseconds, not seconds), signed with the
 * secret. Tokens live 3 minutes and are reused until 30 seconds before they expire. Signed with
 * `jose` (the claims are set as given: its own `exp` helper would write seconds).
 */
import { SignJWT } from 'jose';
import { InvalidArgumentError } from '../../core/errors.js';

const TOKEN_TTL_MS = 3 * 60 * 1000;
const REFRESH_MARGIN_MS = 30 * 1000;

export class ZhipuTokenSource {
  private readonly id: string;
  private readonly secret: Uint8Array;
  private cached: { token: Promise<string>; expiresAt: number } | undefined;

  constructor(
    apiKey: string,
    private readonly now: () => number = Date.now,
  ) {
    const [id, secret, ...rest] = apiKey.split('.');
    if (!id || !secret || rest.length > 0) {
      throw new InvalidArgumentError(
        'saas.api_key for saas/zhipu must look like <id>.<secret> (as shown in the Zhipu console)',
      );
    }
    this.id = id;
    this.secret = new TextEncoder().encode(secret);
  }

  /** The current token; concurrent callers share one signing. */
  token(): Promise<string> {
    const now = this.now();
    if (this.cached && this.cached.expiresAt - REFRESH_MARGIN_MS > now) return this.cached.token;
    const expiresAt = now + TOKEN_TTL_MS;
    const token = new SignJWT({ api_key: this.id, exp: expiresAt, timestamp: now })
      .setProtectedHeader({ alg: 'HS256', sign_type: 'SIGN' })
      .sign(this.secret);
    this.cached = { token, expiresAt };
    return token;
  }
}
