/**
 * Streaming TTS through `streamChatOai` (Byzer-LLM's JSON task content on a `tts-1` deployment)
 * yields the audio itself — bytes in `meta.audio`, base64 as the text — in process and over the
 * head's admin HTTP API, where the bytes travel as `{ $binary }`.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { serve } from '@hono/node-server';
import { ByzerLLM } from '../../src/client/index.js';
import { createAdminApi } from '../../src/cluster/index.js';
import { type ClientFixture, startClientFixture } from './client-fixture.js';

let fixture: ClientFixture;
let server: ReturnType<typeof serve>;
let address: string;
const input = 'y'.repeat(40_000);
const expected = `FAKE-MP3:echo:${input}`;
const conversations = JSON.stringify({ input, voice: 'echo', response_format: 'mp3' });

before(async () => {
  fixture = await startClientFixture();
  await fixture.head.deploy({
    name: 'tts',
    pretrainedModelType: 'saas/openai',
    inferParams: { ...fixture.inferParams, 'saas.model': 'tts-1' },
  });
  const app = createAdminApi({ cluster: fixture.head, token: 'speech-token' });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await fixture?.close();
});

for (const where of ['in process', 'over HTTP'] as const) {
  test(`streamChatOai on a TTS deployment yields the audio bytes (${where})`, async () => {
    const llm =
      where === 'in process'
        ? new ByzerLLM({ cluster: fixture.head })
        : new ByzerLLM({ address, token: 'speech-token' });
    try {
      const pieces: Buffer[] = [];
      for await (const [text, meta] of llm.streamChatOai({ model: 'tts', conversations, deltaMode: true })) {
        if (!meta.audio) continue;
        assert.ok(meta.audio instanceof Uint8Array);
        assert.equal(text, Buffer.from(meta.audio).toString('base64'));
        pieces.push(Buffer.from(meta.audio));
      }
      assert.equal(pieces.length, 2, 'the engine streams 32000-byte pieces');
      assert.equal(Buffer.concat(pieces).toString(), expected);

      let last = '';
      for await (const [text] of llm.streamChatOai({ model: 'tts', conversations })) last = text;
      assert.equal(Buffer.from(last, 'base64').toString(), expected, 'without deltaMode: all audio so far');
    } finally {
      await llm.close();
    }
  });
}
