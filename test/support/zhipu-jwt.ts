/**
 * Server-side check of Zhipu's API-key JWT, as the Zhipu API verifies it: `Bearer <jwt>` where the
 * JWT header is `{"alg":"HS256","sign_type":"SIGN"}`, the payload `{api_key, exp, timestamp}` in
 * milliseconds, and the HS256 signature made with the secret half of `<id>.<secret>`.
 * Returns undefined when valid, else the presented credential (for the 401 body).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function zhipuAuthorizationChecker(apiKey: string) {
  const [id, secret] = apiKey.split('.');
  return (authorization: string | undefined): string | undefined => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token || !id || !secret) return authorization ?? '';
    const [header, payload, signature] = token.split('.');
    if (!header || !payload || !signature) return token;
    const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return token;
    const decodedHeader = JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    if (decodedHeader.alg !== 'HS256' || decodedHeader.sign_type !== 'SIGN') return token;
    if (claims.api_key !== id) return token;
    const now = Date.now();
    if (typeof claims.exp !== 'number' || claims.exp < now) return token;
    // Milliseconds, not seconds: a seconds timestamp would be ~1000x too small.
    if (typeof claims.timestamp !== 'number' || Math.abs(claims.timestamp - now) > 60_000) return token;
    return undefined;
  };
}
