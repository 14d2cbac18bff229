/**
 * Turns a byte stream of `text/event-stream` into an async iterable of events, using
 * `eventsource-parser` for the framing rules (LF/CRLF/CR line ends, multi-line `data:`, comments).
 *
 * Breaking out of the iteration stops reading the body; the HTTP layer then destroys the socket so
 * the upstream sees the client go away and stops generating.
 */
import { StringDecoder } from 'node:string_decoder';
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
  // `StringDecoder` rather than `TextDecoder`: the same UTF-8 decoding (a character split between
  // reads is kept for the next, invalid bytes become U+FFFD) at a tenth of the CPU per streamed
  // chunk in Node 20. The byte order mark that `TextDecoder` drops is dropped by hand.
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of body) {
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    parser.feed(text);
    if (pending.length > 0) {
      const ready = pending;
      pending = [];
      yield ready;
    }
  }
  // Lenient end: a last event the upstream closed without its blank line (`data: [DONE]\n`) is
  // still dispatched. A cut connection never gets here: the body iteration throws instead.
  parser.feed(`${decoder.end()}\n\n`);
  if (pending.length > 0) yield pending;
}
