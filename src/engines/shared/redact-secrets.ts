/**
 * Keeps secrets (api keys, tokens) out of error messages and details.
 *
 * Upstreams sometimes echo the presented key back ("Incorrect API key provided: sk-…"), and a
 * sloppy proxy may echo it in full. Errors travel to logs, the CLI and HTTP clients, so every text
 * that came from an upstream passes through here before it becomes part of a `ByzerLLMError`.
 */

export const REDACTED = '******';

/** Replaces every occurrence of each secret in `text` with `******`. Secrets shorter than 4 chars are ignored. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4 && result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/** Same for a JSON-shaped value (an upstream error body): redacts through its JSON text. */
export function redactSecretsInValue(value: unknown, secrets: readonly string[]): unknown {
  if (value === undefined) return value;
  const text = JSON.stringify(value);
  if (text === undefined) return value;
  const redacted = redactSecrets(text, secrets);
  return redacted === text ? value : JSON.parse(redacted);
}
