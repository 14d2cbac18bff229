/**
 * Console sign-in: when the gateway's API key is set, the console's API answers only a browser that
 * has shown that key once on the login page. The key itself never goes into a cookie: a login issues
 * a random session id (HttpOnly, SameSite=Strict), kept in memory for the console's lifetime, so
 * closing the console signs every browser out.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export const SESSION_COOKIE = 'byzerllm_console';

export interface ConsoleAuth {
  /** True when a key is configured, i.e. the login page is shown. */
  readonly required: boolean;
  /** Whether this request carries a session (always true when no key is configured). */
  isSignedIn(context: Context): boolean;
  /** Checks the key; on a match sets the session cookie and returns true. */
  signIn(context: Context, givenKey: string): boolean;
}

export function createConsoleAuth(apiKey: string | undefined): ConsoleAuth {
  const sessions = new Set<string>();
  const expected = apiKey === undefined ? undefined : Buffer.from(apiKey);
  return {
    required: expected !== undefined,
    isSignedIn(context) {
      if (!expected) return true;
      const session = getCookie(context, SESSION_COOKIE);
      return session !== undefined && sessions.has(session);
    },
    signIn(context, givenKey) {
      if (!expected) return true;
      const given = Buffer.from(givenKey);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
      const session = randomBytes(24).toString('hex');
      sessions.add(session);
      setCookie(context, SESSION_COOKIE, session, { httpOnly: true, sameSite: 'Strict', path: '/' });
      return true;
    },
  };
}
