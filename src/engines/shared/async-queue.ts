/**
 * A push-to-pull bridge: callbacks push values, one consumer iterates them.
 *
 * Local engines (node-llama-cpp, transformers.js) report generated text through callbacks; the
 * protocol wants an async iterable.
 */
export class AsyncQueue<Value> implements AsyncIterable<Value> {
  private readonly values: Value[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(value: Value): void {
    if (this.ended) return;
    this.values.push(value);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Value> {
    while (true) {
      const value = this.values.shift();
      if (value !== undefined) {
        yield value;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
