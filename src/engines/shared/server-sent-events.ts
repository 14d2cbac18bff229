/**
 * Turns a byte stream of `text/event-stream` into an async iterable of events, using
 * `eventsource-parser` for the framing rules (LF/CRLF/CR line ends, multi-line `data:`, comments).
 *
 * Breaking out of the iteration stops reading the body; the HTTP layer then destroys the socket so
 * the upstream sees the client go away and stops generating.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type { EventSourceMessage };

export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<EventSourceMessage> {
  for await (const batch of readServerSentEventBatches(body)) yield* batch;
}

/**
 * The same events, in the batches they arrived in: every event completed by one read of the body.
 * For a consumer that handles events in bulk (the OpenAI pass-through), one step per read instead
 * of one per event.
 */
export async function* readServerSentEventBatches(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<EventSourceMessage[]> {
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (pending.length > 0) {
      const ready = pending;
      pending = [];
      yield ready;
    }
  }
  // Lenient end: a last event the upstream closed without its blank line (`data: [DONE]\n`) is
  // still dispatched. A cut connection never gets here: the body iteration throws instead.
  parser.feed(`${decoder.decode()}\n\n`);
  if (pending.length > 0) yield pending;
}
