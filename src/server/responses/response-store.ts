/**
 * Stored responses (`store: true`, the Responses API default): one JSON file per response under
 * `$BYZERLLM_HOME/responses/`, holding the response object `GET /v1/responses/{id}` answers and the
 * conversation so far, which `previous_response_id` continues.
 *
 * Files are read back through zod: a file edited by hand or cut short by a crash is reported as a
 * 400 naming the id, never half-used. Ids are checked against their pattern before they become a
 * file name, so a request cannot reach outside the folder.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../cluster/index.js';
import type { ResponseObject } from './response-object.js';
import { type ChatMessage, InvalidArgumentError, NotFoundError } from '../../core/index.js';

export const RESPONSE_ID_PATTERN = /^resp_[0-9a-f]{32}$/;

const toolCallSchema = z.object({ id: z.string(), name: z.string(), arguments: z.string() });
const contentPartSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('image'), url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
  z.object({ type: z.literal('audio'), url: z.string() }),
]);
const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(contentPartSchema)]) }),
  z.object({
    role: z.literal('assistant'),
    content: z.string(),
    toolCalls: z.array(toolCallSchema).optional(),
  }),
  z.object({ role: z.literal('tool'), toolCallId: z.string(), content: z.string() }),
]);

const storedResponseSchema = z.object({
  /** The response object as the API answered it. */
  response: z.looseObject({ id: z.string().regex(RESPONSE_ID_PATTERN), object: z.literal('response') }),
  /** The conversation up to and including this response's output, without instructions. */
  messages: z.array(chatMessageSchema),
});

export interface StoredResponse {
  response: ResponseObject;
  messages: ChatMessage[];
}

export class ResponseStore {
  constructor(private readonly directory: string) {}

  async save(stored: StoredResponse): Promise<void> {
    await writeFileAtomic(this.file(stored.response.id), `${JSON.stringify(stored)}\n`, 0o600);
  }

  /** The stored response; `NotFoundError` when there is none (never stored, deleted, `store: false`). */
  async read(id: string, param: string): Promise<StoredResponse> {
    let text: string;
    try {
      text = await fs.readFile(this.file(id, param), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(id, param);
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = storedResponseSchema.safeParse(value);
    if (!parsed.success || parsed.data.response.id !== id) {
      throw new InvalidArgumentError(`stored response ${id} is damaged and cannot be used`, {
        details: { param },
      });
    }
    return parsed.data as StoredResponse;
  }

  /** Removes a stored response; `NotFoundError` when there is none. */
  async delete(id: string): Promise<void> {
    try {
      await fs.unlink(this.file(id, 'response_id'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(id, 'response_id');
      throw error;
    }
  }

  private file(id: string, param = 'response_id'): string {
    if (!RESPONSE_ID_PATTERN.test(id)) throw notFound(id, param);
    return path.join(this.directory, `${id}.json`);
  }
}

function notFound(id: string, param: string): NotFoundError {
  return new NotFoundError(`no stored response with id ${JSON.stringify(id.slice(0, 80))}`, {
    details: { param },
  });
}
