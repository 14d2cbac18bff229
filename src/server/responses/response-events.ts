/**
 * `StreamPart`s → the Responses API's typed server-sent events (`event: response.output_text.delta`
 * and so on), each with its `sequence_number`, in the order OpenAI sends them:
 *
 * `response.created`, `response.in_progress`, then per output item `response.output_item.added`,
 * its content events (`content_part.added`, `output_text.delta`…`output_text.done`,
 * `content_part.done`; `function_call_arguments.delta`/`.done`; reasoning summary events) and
 * `response.output_item.done`, and last `response.completed` (or `response.incomplete` when the token
 * bound cut the answer). A failure after the start is an `error` event followed by `response.failed`.
 *
 * Items are opened lazily: text opens a message item, reasoning a reasoning item, each complete tool
 * call is one function_call item; switching kind closes the open item.
 */
import type { ByzerLLMError, FinishReason, ToolCall, Usage } from '../../core/index.js';
import { mapError } from '../map-error.js';
import {
  assistantMessage,
  finishedStatus,
  functionCallItem,
  messageItem,
  itemId,
  type OutputItem,
  outputTextPart,
  type ResponseFrame,
  type ResponseObject,
  reasoningItem,
  responseObject,
} from './response-object.js';

type OpenItem =
  | { kind: 'message'; id: string; text: string }
  | { kind: 'reasoning'; id: string; text: string };

export class ResponseEventWriter {
  private sequence = 0;
  private readonly output: OutputItem[] = [];
  private open: OpenItem | undefined;
  private answerText = '';
  private readonly toolCalls: ToolCall[] = [];
  /** The completed response object, once `finish` ran. */
  final: ResponseObject | undefined;

  constructor(private readonly frame: ResponseFrame) {}

  /** `response.created` and `response.in_progress`. */
  start(): string {
    const response = responseObject(this.frame, { status: 'in_progress', output: [] });
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  text(delta: string): string {
    this.answerText += delta;
    return this.appendDelta('message', delta, 'response.output_text.delta', {
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  reasoning(delta: string): string {
    return this.appendDelta('reasoning', delta, 'response.reasoning_summary_text.delta', {
      summary_index: 0,
      delta,
    });
  }

  /**
   * Opens the `kind` item unless it is the open one, adds `delta` to its text, and returns the
   * opening events (if any) and the delta event, whose `fields` follow `item_id` and `output_index`.
   */
  private appendDelta(
    kind: OpenItem['kind'],
    delta: string,
    name: string,
    fields: Record<string, unknown>,
  ): string {
    const events = this.openItem(kind);
    const open = this.open!;
    open.text += delta;
    return events + this.event(name, { item_id: open.id, output_index: this.output.length, ...fields });
  }

  toolCall(call: ToolCall): string {
    let events = this.closeItem();
    const outputIndex = this.output.length;
    const id = itemId('fc', this.frame.id, outputIndex);
    this.toolCalls.push(call);
    events += this.event('response.output_item.added', {
      output_index: outputIndex,
      item: functionCallItem(id, call, 'in_progress'),
    });
    events += this.event('response.function_call_arguments.delta', {
      item_id: id,
      output_index: outputIndex,
      delta: call.arguments,
    });
    events += this.event('response.function_call_arguments.done', {
      item_id: id,
      output_index: outputIndex,
      name: call.name,
      arguments: call.arguments,
    });
    const item = functionCallItem(id, call, 'completed');
    this.output.push(item);
    events += this.event('response.output_item.done', { output_index: outputIndex, item });
    return events;
  }

  /** Closes the open item and sends the final response; `response()` then returns it. */
  finish(reason: FinishReason, usage: Usage): string {
    let events = this.closeItem();
    // An answer with neither text nor tool calls still has its (empty) message, as non-stream has.
    if (this.output.every((item) => item.type === 'reasoning')) {
      events += this.openItem('message') + this.closeItem();
    }
    this.final = responseObject(this.frame, {
      status: finishedStatus(reason),
      output: this.output,
      usage,
      finishReason: reason,
    });
    const type = reason === 'length' ? 'response.incomplete' : 'response.completed';
    return events + this.event(type, { response: this.final });
  }

  /** An `error` event and `response.failed`, for a failure after the stream started. */
  fail(error: ByzerLLMError): { events: string; status: number } {
    const mapped = mapError(error);
    const { message, code, param } = mapped.body.error;
    const failed = responseObject(this.frame, {
      status: 'failed',
      output: this.output,
      error: { code: code ?? 'server_error', message },
    });
    const events =
      this.event('error', { code, message, param }) + this.event('response.failed', { response: failed });
    return { events, status: mapped.status };
  }

  /** The assistant turn streamed so far (what the stored conversation gets). */
  assistant() {
    return assistantMessage({ text: this.answerText, toolCalls: this.toolCalls });
  }

  private openItem(kind: OpenItem['kind']): string {
    if (this.open?.kind === kind) return '';
    let events = this.closeItem();
    const id = itemId(kind === 'message' ? 'msg' : 'rs', this.frame.id, this.output.length);
    this.open = { kind, id, text: '' };
    const outputIndex = this.output.length;
    if (kind === 'message') {
      events += this.event('response.output_item.added', {
        output_index: outputIndex,
        item: messageItem(id, '', 'in_progress'),
      });
      events += this.event('response.content_part.added', {
        item_id: id,
        output_index: outputIndex,
        content_index: 0,
        part: outputTextPart(''),
      });
    } else {
      events += this.event('response.output_item.added', {
        output_index: outputIndex,
        item: reasoningItem(id, undefined),
      });
      events += this.event('response.reasoning_summary_part.added', {
        item_id: id,
        output_index: outputIndex,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    }
    return events;
  }

  private closeItem(): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    const outputIndex = this.output.length;
    const at = { item_id: open.id, output_index: outputIndex };
    let events: string;
    let item: OutputItem;
    if (open.kind === 'message') {
      events =
        this.event('response.output_text.done', { ...at, content_index: 0, text: open.text, logprobs: [] }) +
        this.event('response.content_part.done', {
          ...at,
          content_index: 0,
          part: outputTextPart(open.text),
        });
      item = messageItem(open.id, open.text, 'completed');
    } else {
      const part = { type: 'summary_text', text: open.text };
      events =
        this.event('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: open.text }) +
        this.event('response.reasoning_summary_part.done', { ...at, summary_index: 0, part });
      item = reasoningItem(open.id, open.text);
    }
    this.output.push(item);
    return events + this.event('response.output_item.done', { output_index: outputIndex, item });
  }

  private event(type: string, fields: Record<string, unknown>): string {
    const data = JSON.stringify({ type, sequence_number: this.sequence++, ...fields });
    return `event: ${type}\ndata: ${data}\n\n`;
  }
}
