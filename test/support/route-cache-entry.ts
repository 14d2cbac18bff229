/**
 * Waits for a route's answer to land in NATS KV. A gateway stores an answer after it has sent it
 * (`storeAfterAnswer`), so a test that asks a second gateway for the same request must first see
 * the entry stored: this watches the entry's KV key (the key a gateway derives from the route and
 * the chat body, with the gateway's own functions) and resolves on its first stored value, the one
 * already there included. No polling, no sleeps.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { cacheEntryKey, KV_RESPONSE_CACHE } from '../../src/cluster/index.js';
import { parseChatBody, toChatRequest } from '../../src/server/chat-request.js';
import { cacheKeyOf } from '../../src/server/routed-chat-cache.js';

/** The KV key of `body` (a chat completions body) through `route`. */
export function cacheEntryKeyOf(route: string, body: Record<string, unknown>): string {
  return cacheEntryKey(route, cacheKeyOf(route, toChatRequest(parseChatBody(structuredClone(body)))));
}

/**
 * Resolves with the entry's KV key once its value is stored. Call it after a request through the
 * route was answered (the bucket exists by then: the gateway looked the request up in it first).
 */
export async function cacheEntryStored(
  connection: NatsConnection,
  route: string,
  body: Record<string, unknown>,
): Promise<string> {
  const key = cacheEntryKeyOf(route, body);
  const bucket = await new Kvm(jetstream(connection)).open(KV_RESPONSE_CACHE);
  const watcher = await bucket.watch({ key });
  try {
    for await (const entry of watcher) {
      if (entry.operation === 'PUT') return key;
    }
  } finally {
    watcher.stop();
  }
  throw new Error(`the watch of ${KV_RESPONSE_CACHE} ended before ${route}'s entry was stored`);
}
