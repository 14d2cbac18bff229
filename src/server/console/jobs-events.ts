/**
 * The Jobs page's live view: one poll per console (not one per open browser tab) reads the job
 * list once per refresh interval, and each chosen job's detail once however many pages show it,
 * then sends each subscriber its view (`{ jobs, detail? }`, or `{ error }` when a read failed) when
 * that view changed. The poll starts with the first subscriber and stops when the last one leaves,
 * so a console nobody watches reads nothing.
 */
import type { ConsoleJobs } from './console-features.js';

type Listener = (viewJson: string) => void;

interface Subscriber {
  /** The job whose loss points and log the page shows, if any. */
  chosen: string | undefined;
  listener: Listener;
  /** The view last sent to it. */
  last?: string;
}

export class JobsEvents {
  private readonly subscribers = new Set<Subscriber>();
  /** The latest view per chosen job (`undefined`: none chosen), for a page that opens meanwhile. */
  private readonly views = new Map<string | undefined, string>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** Someone subscribed (or the timer ticked) during a read: read again when it ends. */
  private again = false;

  constructor(
    private readonly jobs: ConsoleJobs,
    private readonly refreshMs: number,
  ) {}

  /** Pages subscribed now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Whether the poll runs: exactly while someone is subscribed. */
  get polling(): boolean {
    return this.timer !== undefined;
  }

  /** Calls `listener` with the view of `chosen` now (when one is known, else after a read) and on every change. */
  subscribe(chosen: string | undefined, listener: Listener): () => void {
    const subscriber: Subscriber = { chosen, listener };
    this.subscribers.add(subscriber);
    const known = this.views.get(chosen);
    if (known !== undefined) send(subscriber, known);
    else void this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.refreshMs);
    return () => this.unsubscribe(subscriber);
  }

  close(): void {
    this.subscribers.clear();
    this.stop();
  }

  private unsubscribe(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.stop();
    else if (![...this.subscribers].some((each) => each.chosen === subscriber.chosen))
      this.views.delete(subscriber.chosen);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.views.clear();
  }

  private async refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && this.subscribers.size > 0);
    } finally {
      this.reading = false;
    }
  }

  /** One read of the list and of each chosen job's detail, sent to whoever's view changed. */
  private async readOnce(): Promise<void> {
    const chosen = [...new Set([...this.subscribers].map((subscriber) => subscriber.chosen))];
    const names = chosen.filter((name) => name !== undefined);
    const [list, ...details] = await Promise.allSettled([
      this.jobs.list(),
      ...names.map((name) => this.jobs.detail(name)),
    ]);
    for (const key of chosen) {
      // Those who chose it may have left during the read: keep no view nobody is shown.
      if (![...this.subscribers].some((subscriber) => subscriber.chosen === key)) continue;
      const detail = key === undefined ? undefined : details[names.indexOf(key)];
      const json = JSON.stringify(viewOf(list!, detail));
      this.views.set(key, json);
      for (const subscriber of this.subscribers) if (subscriber.chosen === key) send(subscriber, json);
    }
  }
}

function send(subscriber: Subscriber, json: string): void {
  if (json === subscriber.last) return;
  subscriber.last = json;
  subscriber.listener(json);
}

/** The page's view: every job and the chosen one's detail, or the first read's failure. */
function viewOf(list: PromiseSettledResult<unknown>, detail: PromiseSettledResult<unknown> | undefined) {
  const failed = [list, detail].find((result) => result?.status === 'rejected');
  if (failed) return { error: ((failed as PromiseRejectedResult).reason as Error).message };
  const jobs = (list as PromiseFulfilledResult<unknown>).value;
  return detail ? { jobs, detail: (detail as PromiseFulfilledResult<unknown>).value } : { jobs };
}
