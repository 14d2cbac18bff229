/**
 * The one reader of the cluster's timeout settings given in seconds (`BYZERLLM_HEAD_TIMEOUT`,
 * `BYZERLLM_FAULT_TIMEOUT`), so every such setting accepts and rejects the same values.
 */
import { InvalidArgumentError } from '../core/index.js';

/**
 * `environment[name]` (seconds, > 0) in milliseconds, or `defaultMs` when unset or blank; a bad value
 * throws `InvalidArgumentError` naming the setting and the value.
 */
export function timeoutSettingMs(name: string, defaultMs: number, environment: NodeJS.ProcessEnv): number {
  const text = environment[name];
  if (text === undefined || text.trim() === '') return defaultMs;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidArgumentError(`${name} must be a number of seconds > 0, got ${JSON.stringify(text)}`);
  }
  return seconds * 1000;
}
