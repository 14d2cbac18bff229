/**
 * Event callbacks around model calls (Byzer-LLM's `add_event_callback`, byzer-spec §3.8), used for
 * caching, mocking and logging:
 *
 *   llm.addEventCallback(EventName.BEFORE_CALL_MODEL, (llm, model, requests) => [true, undefined]);
 *
 * `BEFORE_CALL_MODEL` gets the requests about to be sent, `AFTER_CALL_MODEL` the results as
 * Byzer-LLM's workers replied them (`{ predict, metadata, input }`). A callback returns
 * `[continueFlag, value]` (or nothing, meaning continue): the first one returning `false` stops the
 * chain, and its `value` is used as the results — before the call, the model is then not called at
 * all. Callbacks run in the order they were added and may be async.
 */
import { type ChatRequest, InvalidArgumentError } from '../core/index.js';

export const EventName = {
  BEFORE_CALL_MODEL: 'before_call_model',
  AFTER_CALL_MODEL: 'after_call_model',
} as const;
export type EventName = (typeof EventName)[keyof typeof EventName];

/** One result as a Byzer-LLM worker replied it: the text as `predict`, its metadata, its input. */
export interface RawModelResult {
  predict: string;
  metadata?: Record<string, unknown>;
  input?: ChatRequest;
}

/** `[continueFlag, value]`; nothing means continue. */
export type EventOutcome = [continueFlag: boolean, value?: RawModelResult[]] | undefined;

// biome-ignore lint/suspicious/noConfusingVoidType: callbacks that only log or count return nothing.
type CallbackReturn = EventOutcome | void | Promise<EventOutcome | void>;

export type EventCallback<Name extends EventName, Llm = unknown> = Name extends 'before_call_model'
  ? (llm: Llm, model: string, requests: ChatRequest[]) => CallbackReturn
  : (llm: Llm, model: string, results: RawModelResult[]) => CallbackReturn;

type AnyCallback = (llm: unknown, model: string, items: never[]) => CallbackReturn;

export class EventCallbacks {
  private readonly byName = new Map<EventName, AnyCallback[]>();

  add<Name extends EventName, Llm>(name: Name, callback: EventCallback<Name, Llm>): void {
    if (name !== EventName.BEFORE_CALL_MODEL && name !== EventName.AFTER_CALL_MODEL) {
      throw new InvalidArgumentError(
        `unknown event ${String(name)}; allowed: ${Object.values(EventName).join(', ')}`,
      );
    }
    this.byName.set(name, [...(this.byName.get(name) ?? []), callback as unknown as AnyCallback]);
  }

  has(name: EventName): boolean {
    return (this.byName.get(name)?.length ?? 0) > 0;
  }

  /** Runs the callbacks of `name`; the value of the first that returns `[false, value]`, else undefined. */
  async run(
    name: EventName,
    llm: unknown,
    model: string,
    items: ChatRequest[] | RawModelResult[],
  ): Promise<RawModelResult[] | undefined> {
    for (const callback of this.byName.get(name) ?? []) {
      const outcome = await callback(llm, model, items as never[]);
      if (outcome && outcome[0] === false) return outcome[1] ?? [];
    }
    return undefined;
  }
}
