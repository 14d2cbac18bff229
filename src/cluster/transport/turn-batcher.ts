/**
 * Collects the messages sent during one turn of the event loop and hands them over together at its
 * end (`setImmediate`), in order.
 *
 * Both ends of a worker's IPC channel send through one: a write plus the peer's read cost more than a
 * text part of a fast local model, and what one turn produces belongs together — the parts that the
 * concurrent streams of a llama.cpp context produce after one batch, a stream's start and its first
 * part, its last text and its finish; and, towards the worker, the requests that arrived together,
 * which then start in the same turn there and are evaluated in the same llama.cpp batch. A message
 * waits at most until the end of the current turn.
 */
export class TurnBatcher<Message> {
  private pending: Message[] = [];

  /** `deliver` gets one turn's messages, never an empty list. */
  constructor(private readonly deliver: (messages: Message[]) => void) {}

  push(message: Message): void {
    if (this.pending.push(message) === 1) setImmediate(() => this.flush());
  }

  /** Delivers what is pending now (before the process exits, say). */
  flush(): void {
    const messages = this.pending;
    if (messages.length === 0) return;
    this.pending = [];
    this.deliver(messages);
  }
}
