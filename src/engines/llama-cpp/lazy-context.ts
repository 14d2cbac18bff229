/**
 * A node-llama-cpp context (embedding, ranking) created on first use, so a deployment that never
 * serves that task never pays for it, and disposed at most once. Concurrent first calls share one
 * creation, since the promise is kept rather than its result.
 */
export class LazyContext<Context extends { dispose(): Promise<void> }> {
  private context: Promise<Context> | undefined;

  constructor(private readonly create: () => Promise<Context>) {}

  get(): Promise<Context> {
    this.context ??= this.create();
    return this.context;
  }

  async dispose(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    if (context) await (await context).dispose();
  }
}
