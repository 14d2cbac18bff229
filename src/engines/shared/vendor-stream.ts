/**
 * The one loop every provider's stream mapping runs: read the vendor's events, let the engine turn
 * each into stream parts, and end in exactly one `finish` or `error` part (the protocol's rule).
 *
 * Engines supply only what differs between vendors — how one event maps to parts, what marks the
 * end, how the finish reason reads — and share the tail: failures while reading become an error
 * part, a stream that stops before its end marker is a retryable incomplete-stream error, and the
 * request's warnings ride on `finish`.
 */
import type { FinishReason, StreamPart, Usage, Warning } from '../../core/chat-model.js';
import { toByzerLLMError } from '../../core/errors.js';
import { incompleteStreamError } from './stream-errors.js';

/** What the mapping has seen so far; `onEvent` updates it. */
export interface StreamProgress {
  /** The `response-metadata` part went out (see `metadataOnce`). */
  started: boolean;
  /** The vendor's end marker was seen: later events are read (keeping the connection reusable) but ignored. */
  ended: boolean;
  /** The vendor's own finish reason, once it said one. */
  finishReason?: string | null | undefined;
  usage: Usage;
}

export interface VendorStreamOptions<Event> {
  provider: string;
  /** Warnings found while building the request, reported on `finish`. */
  warnings: readonly Warning[];
  /** The parts one event adds. Throw for an error the event reports: the stream ends with it. */
  onEvent(event: Event, progress: StreamProgress): Iterable<StreamPart>;
  /** Whether the answer is whole when the events end. Defaults to `progress.ended`. */
  isComplete?(progress: StreamProgress): boolean;
  /** How an incomplete stream ended, for its error ("ended the stream before is_end"). */
  incomplete: string;
  finishReason(progress: StreamProgress): FinishReason;
  /** Parts after the last event, before the completeness check (a metadata part never sent). */
  afterEvents?(progress: StreamProgress): Iterable<StreamPart>;
  /** Parts after the completeness check, before `finish` (assembled tool calls). */
  beforeFinish?(progress: StreamProgress): Iterable<StreamPart>;
}

export async function* mapVendorStream<Event>(
  events: AsyncIterable<Event>,
  options: VendorStreamOptions<Event>,
): AsyncGenerator<StreamPart> {
  const progress: StreamProgress = {
    started: false,
    ended: false,
    usage: { inputTokens: 0, outputTokens: 0 },
  };
  try {
    for await (const event of events) {
      if (progress.ended) continue;
      yield* options.onEvent(event, progress);
    }
    if (options.afterEvents) yield* options.afterEvents(progress);
  } catch (error) {
    yield { type: 'error', error: toByzerLLMError(error) };
    return;
  }
  if (!(options.isComplete?.(progress) ?? progress.ended)) {
    yield { type: 'error', error: incompleteStreamError(options.provider, options.incomplete) };
    return;
  }
  if (options.beforeFinish) yield* options.beforeFinish(progress);
  yield {
    type: 'finish',
    finishReason: options.finishReason(progress),
    usage: progress.usage,
    ...(options.warnings.length > 0 ? { warnings: [...options.warnings] } : {}),
  };
}

/** The `response-metadata` part, the first time only (an absent model id is left out). */
export function metadataOnce(
  progress: StreamProgress,
  requestId: string,
  modelId?: string | null,
): StreamPart[] {
  if (progress.started) return [];
  progress.started = true;
  return [
    modelId ? { type: 'response-metadata', requestId, modelId } : { type: 'response-metadata', requestId },
  ];
}
