/**
 * `POST /v1/responses`, `GET /v1/responses/{id}` and `DELETE /v1/responses/{id}`: the OpenAI
 * Responses API over the normal chat path of any deployment.
 *
 * With `previous_response_id` the stored conversation of that response comes first; the new
 * response is stored (unless `store: false`) with the conversation extended by its input and output.
 */
import { type ChatResult, NotFoundError } from '../../core/index.js';
import { pumpEvents } from '../event-stream.js';
import type { Exchange } from '../exchange.js';
import { sendJson } from '../http.js';
import { type FieldCheck, ignoredFieldsHeader, present, refuseFields } from '../ignored-fields.js';
import { gatewayRefusal } from '../map-error.js';
import { parseResponsesBody, type ResponsesBody, toChatRequest, toInputMessages } from './request.js';
import { ResponseEventWriter } from './response-events.js';
import {
  assistantMessage,
  finishedStatus,
  newResponseId,
  outputItems,
  parseItemId,
  type ResponseFrame,
  responseObject,
} from './response-object.js';
import type { ResponseStore } from './response-store.js';

export const RESPONSES_PATH = '/v1/responses';

/** Needs OpenAI's background job service. */
const REFUSED: FieldCheck = { background: present };

/** Tune OpenAI's own service or models; a deployment answers the same without them. */
const IGNORED: FieldCheck = {
  reasoning: present,
  include: (value) => Array.isArray(value) && value.length > 0,
  parallel_tool_calls: (value) => value === false,
  truncation: (value) => value === 'auto',
  top_logprobs: present,
  service_tier: present,
  prompt_cache_key: present,
  safety_identifier: present,
};

export async function handleCreateResponse(
  exchange: Exchange,
  body: Record<string, unknown>,
  store: ResponseStore,
): Promise<number> {
  const parsed = parseResponsesBody(body);
  refuseFields(body, REFUSED, 'responses run synchronously on deployments');
  const headers = ignoredFieldsHeader(body, IGNORED);
  const history = parsed.previous_response_id
    ? (await store.read(parsed.previous_response_id, 'previous_response_id')).messages
    : [];
  const input = toInputMessages(parsed, await referencedItems(parsed, store));
  const request = toChatRequest(parsed, history, input);
  const model = exchange.resolveModel(parsed.model);
  const frame: ResponseFrame = {
    id: newResponseId(),
    createdAt: Math.floor(Date.now() / 1000),
    model,
    body: parsed,
  };
  const conversation = [...history, ...input];
  const options = exchange.callOptions(model);
  if (parsed.stream) {
    const parts = await exchange.cluster.stream(model, request, options);
    exchange.routeAnswered(options);
    const writer = new ResponseEventWriter(frame);
    const save = async () => {
      // Stored before the last event goes out, so a client that continues at once finds it.
      if (parsed.store === false || !writer.final) return;
      await store.save({ response: writer.final, messages: [...conversation, writer.assistant()] });
    };
    return pumpEvents({ exchange, parts, writer, beforeFinishSent: save, headers });
  }
  const result: ChatResult = await exchange.cluster.call(model, 'chat', request, options);
  exchange.routeAnswered(options);
  const response = responseObject(frame, {
    status: finishedStatus(result.finishReason),
    output: outputItems(frame.id, result),
    usage: result.usage,
    finishReason: result.finishReason,
  });
  exchange.inputTokens = result.usage.inputTokens;
  exchange.outputTokens = result.usage.outputTokens;
  if (parsed.store !== false) {
    await store.save({ response, messages: [...conversation, assistantMessage(result)] });
  }
  sendJson(exchange.response, 200, response, headers);
  return 200;
}

/**
 * The stored output items that `item_reference` input items name, by id. A reference to an item of
 * a response that was never stored (or deleted) is a 404 naming the input item.
 */
async function referencedItems(body: ResponsesBody, store: ResponseStore): Promise<Map<string, unknown>> {
  const items = new Map<string, unknown>();
  if (typeof body.input === 'string') return items;
  for (const [index, item] of body.input.entries()) {
    if (item.type !== 'item_reference' || typeof item.id !== 'string' || items.has(item.id)) continue;
    const param = `input[${index}].id`;
    const responseId = parseItemId(item.id);
    const stored = responseId === undefined ? undefined : await store.read(responseId, param);
    const output = stored?.response.output as { id?: string }[] | undefined;
    const found = output?.find((candidate) => candidate.id === item.id);
    if (!found) {
      throw new NotFoundError(`no stored output item with id ${JSON.stringify(item.id.slice(0, 80))}`, {
        details: { param },
      });
    }
    items.set(item.id, found);
  }
  return items;
}

/** `GET` and `DELETE /v1/responses/{id}`. */
export async function handleStoredResponse(
  exchange: Exchange,
  method: string,
  id: string,
  store: ResponseStore,
): Promise<number> {
  if (id === '' || id.includes('/')) {
    throw gatewayRefusal('route_not_found', `no endpoint ${method} /v1/responses/${id}`);
  }
  if (method === 'GET') {
    sendJson(exchange.response, 200, (await store.read(id, 'response_id')).response);
    return 200;
  }
  if (method === 'DELETE') {
    await store.delete(id);
    sendJson(exchange.response, 200, { id, object: 'response', deleted: true });
    return 200;
  }
  throw gatewayRefusal('method_not_allowed', `${method} /v1/responses/{id}: use GET or DELETE`);
}
