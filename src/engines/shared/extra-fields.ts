import type { Warning } from '../../core/chat-model.js';

/**
 * Copies a request's `extra` (Byzer-LLM's `gen.*` passthrough, OpenAI `extra_body`) onto a provider
 * body, skipping undefined values. With `warnings`, `extra.stream` is ignored with a warning: whether
 * an answer streams is decided by `doGenerate`/`doStream`, not by a passthrough field.
 */
export function mergeExtra(
  target: Record<string, unknown>,
  extra: Record<string, unknown> | undefined,
  warnings?: Warning[],
): void {
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) continue;
    if (key === 'stream' && warnings) {
      warnings.push({
        type: 'unsupported-setting',
        setting: 'extra.stream',
        message: 'extra.stream is ignored',
      });
      continue;
    }
    target[key] = value;
  }
}
