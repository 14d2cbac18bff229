/**
 * The head's stream channel (`stream-channel.ts`) and `HeadClient.stream` over it: a real head (in
 * process) behind the admin API's node:http server with the channel attached, a real `HeadClient`,
 * and a loopback OpenAI upstream behind the deployment. Concurrent streams share one WebSocket and
 * keep their own parts; early stops, aborts, invalid lines, a wrong token and a
 * closed connection behave as the HTTP route's streams do.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { on } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import WebSocket from 'ws';
import {
  attachStreamChannel,
  createAdminApi,
  createInProcessTransport,
  DeploymentStore,
  Head,
  HeadClient,
} from '../../src/cluster/index.js';
import type { ByzerLLMError, StreamPart } from '../../src/core/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

const TOKEN = 'channel-token';

describe('the stream channel', () => {
  let upstream: OpenAIUpstream;
  let directory: string;
  let head: Head;
  let server: Server;
  let address: string;
  let client: HeadClient;
  /** The socket under every upgraded connection (each a WebSocket), in order. */
  const channels: Duplex[] = [];

  before(async () => {
    upstream = await startOpenAIUpstream();
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-channel-'));
    head = new Head({
      store: new DeploymentStore(directory),
      transport: createInProcessTransport(),
      resources: { cpus: 4, memoryBytes: 2 ** 34, gpus: [] },
    });
    await head.restore();
    server = serve({
      fetch: createAdminApi({ cluster: head, token: TOKEN }).fetch,
      hostname: '127.0.0.1',
      port: 0,
    }) as Server;
    attachStreamChannel(server, { cluster: head, token: TOKEN });
    server.on('upgrade', (_request, socket: Duplex) => channels.push(socket));
    await new Promise((resolve) => server.once('listening', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new HeadClient({ address, token: TOKEN });
    await head.deploy({
      name: 'chat',
      pretrainedModelType: 'saas/openai',
      numWorkers: 1,
      workerConcurrency: 8,
      inferParams: {
        'saas.api_key': upstream.apiKey,
        'saas.model': 'm',
        'saas.base_url': upstream.url,
        'saas.max_retries': '0',
      },
    });
  });

  after(async () => {
    await client?.close();
    for (const socket of channels) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
    await head?.close();
    await upstream?.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

  async function textOf(parts: AsyncIterable<StreamPart>): Promise<{ text: string; last: StreamPart }> {
    let text = '';
    let last: StreamPart | undefined;
    for await (const part of parts) {
      if (part.type === 'text-delta') text += part.delta;
      last = part;
    }
    return { text, last: last! };
  }

  test('concurrent streams share one WebSocket and each gets its own text, then its finish', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, async (_, index) => textOf(await client.stream('chat', ask(`q${index}`)))),
    );
    answers.forEach((answer, index) => {
      assert.equal(answer.text, `echo: q${index}`);
      assert.equal(answer.last.type, 'finish');
    });
    const again = await textOf(await client.stream('chat', ask('once more')));
    assert.equal(again.text, 'echo: once more');
    assert.equal(channels.length, 1, 'one connection for all seven streams');
  });

  test('a reader that stops early cancels its stream in the head', async () => {
    const abortedBefore = upstream.abortedCount();
    for await (const part of await client.stream('chat', ask('slow chunk-delay:300 a b c d e f'))) {
      if (part.type === 'text-delta') break;
    }
    await upstream.waitUntil(() => upstream.abortedCount() === abortedBefore + 1);
    assert.equal((await textOf(await client.stream('chat', ask('after')))).text, 'echo: after');
  });

  test("a caller's abort: before the start the call rejects, after it the stream ends with an aborted error part", async () => {
    await assert.rejects(
      client.stream('chat', ask('x'), { signal: AbortSignal.abort() }),
      (error: ByzerLLMError) => error.code === 'aborted',
    );
    const abort = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of await client.stream('chat', ask('slow chunk-delay:300 a b c d'), {
      signal: abort.signal,
    })) {
      parts.push(part);
      if (part.type === 'text-delta') abort.abort();
    }
    const last = parts.at(-1)!;
    assert.equal(last.type, 'error');
    assert.equal(last.type === 'error' && last.error.code, 'aborted');
  });

  test('a failure before the start rejects with its code, as over HTTP', async () => {
    await assert.rejects(client.stream('nope', ask('x')), (error: ByzerLLMError) => {
      assert.equal(error.code, 'not_found');
      assert.match(error.message, /no deployment named nope/);
      return true;
    });
  });

  test('invalid lines are refused (invalid_argument for the stream they name) and the channel keeps serving', async () => {
    const socket = await upgrade(`Bearer ${TOKEN}`);
    const answers = readLines(socket);
    socket.send('not json');
    // Two lines in one message, as a client's turn sends them.
    socket.send(
      `${JSON.stringify({ type: 'stream', id: 7, name: 'chat', request: { messages: 'nope' } })}\n` +
        JSON.stringify({ type: 'stream', id: 8, name: 'chat', request: ask('fine') }),
    );
    const seen = new Map<number, { type: string; error?: { code: string }; part?: { type: string } }[]>();
    for await (const answer of answers) {
      const list = seen.get(answer.id) ?? [];
      list.push(answer);
      seen.set(answer.id, list);
      if (answer.id === 8 && answer.part?.type === 'finish' && seen.has(7)) break;
    }
    socket.terminate();
    assert.deepEqual(
      seen.get(7)?.map((answer) => [answer.type, answer.error?.code]),
      [['failed', 'invalid_argument']],
    );
    assert.equal(seen.get(8)?.[0]?.type, 'started');
    assert.equal(seen.get(8)?.at(-1)?.part?.type, 'finish');
    assert.deepEqual([...seen.keys()].sort(), [7, 8], 'the line that is not JSON names no stream');
  });

  test('a wrong token gets 401 to the upgrade, and HeadClient reports the admin API refusal', async () => {
    await assert.rejects(upgrade('Bearer wrong'), /401/);
    const stranger = new HeadClient({ address, token: 'wrong' });
    try {
      await assert.rejects(
        stranger.stream('chat', ask('x')),
        (error: ByzerLLMError) => error.code === 'invalid_argument' && /admin token/.test(error.message),
      );
    } finally {
      await stranger.close();
    }
  });

  test('the connection closing ends open streams with head_unreachable; the next stream reconnects', async () => {
    const parts: StreamPart[] = [];
    const before = channels.length;
    for await (const part of await client.stream('chat', ask('slow chunk-delay:300 a b c d'))) {
      parts.push(part);
      // The head's end of every connection so far, the client's among them.
      if (part.type === 'text-delta') for (const socket of channels) socket.destroy();
    }
    const last = parts.at(-1)!;
    assert.equal(last.type === 'error' && last.error.code, 'head_unreachable');
    assert.equal((await textOf(await client.stream('chat', ask('back')))).text, 'echo: back');
    assert.equal(channels.length, before + 1, 'a new connection');
  });

  /** Opens a WebSocket to the channel by hand; rejects with the status when the head refuses. */
  function upgrade(authorization: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${address.replace('http', 'ws')}/admin/v1/stream-channel`, {
        headers: { authorization },
        perMessageDeflate: false,
      });
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_request, response) => {
        response.resume();
        socket.terminate();
        reject(new Error(`HTTP ${response.statusCode}`));
      });
      socket.once('error', reject);
    });
  }
});

/** The JSON lines a WebSocket receives (the lines of one turn arrive in one message). */
async function* readLines(socket: WebSocket): AsyncGenerator<{
  id: number;
  type: string;
  error?: { code: string };
  part?: { type: string };
}> {
  for await (const [data] of on(socket, 'message')) {
    for (const line of (data as Buffer).toString('utf8').split('\n')) {
      if (line.length > 0) yield JSON.parse(line);
    }
  }
}
