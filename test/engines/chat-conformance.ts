/**
 * The chat-engine conformance suite: written once, run against every `ChatModelV1` engine.
 *
 * An engine's test file calls `runChatModelConformance(name, makeSubject)`; `makeSubject` starts the
 * engine's local upstream stand-in and builds the model against it. Stand-ins follow the knob
 * conventions of `test/support/openai-upstream-answers.ts`: the answer is `echo: <last user text>`,
 * and `fail:NNN`, `chunk-delay:MS` and `cut:` in the last user message trigger failures.
 *
 * Build the model with retries off, so failures surface at once (retries are tested per engine).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import type { ChatModelV1, ChatRequest, StreamPart } from '../../src/core/chat-model.js';
import { collectStream } from '../../src/core/chat-model.js';
import { ByzerLLMError, type ErrorCode } from '../../src/core/errors.js';

export interface ChatConformanceSubject {
  model: ChatModelV1;
  /** The secret the model authenticates with; it must never appear in an error. */
  apiKey: string;
  /** Resolves once the upstream has seen `count` requests closed early by the client. */
  whenUpstreamAborted(count: number): Promise<void>;
  /** Disposes the model and stops the upstream. */
  close(): Promise<void>;
}

export interface ChatConformanceSetup {
  /** When set, build the model against this base URL, where nothing listens, instead of the stand-in. */
  unreachableBaseUrl?: string;
}

export type MakeChatConformanceSubject = (setup: ChatConformanceSetup) => Promise<ChatConformanceSubject>;

const ask = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

export function runChatModelConformance(name: string, makeSubject: MakeChatConformanceSubject): void {
  const conformanceTest = (
    title: string,
    body: (subject: ChatConformanceSubject, setup: ChatConformanceSetup) => Promise<void>,
    makeSetup: () => Promise<ChatConformanceSetup> = async () => ({}),
  ) =>
    test(`${name} conformance: ${title}`, { timeout: 15_000 }, async () => {
      const setup = await makeSetup();
      const subject = await makeSubject(setup);
      try {
        await body(subject, setup);
      } finally {
        await subject.close();
      }
    });

  conformanceTest('doGenerate returns the upstream text, usage and finish reason', async ({ model }) => {
    const result = await model.doGenerate(ask('hello conformance'));
    assert.equal(result.text, 'echo: hello conformance');
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.usage.inputTokens > 0, 'input tokens are reported');
    assert.ok(result.usage.outputTokens > 0, 'output tokens are reported');
    assert.ok(result.requestId.length > 0, 'a request id is reported');
    assert.deepEqual(result.toolCalls, []);
  });

  conformanceTest(
    'doStream deltas concatenate to the generated text and end with one finish',
    async ({ model }) => {
      const expected = await model.doGenerate(ask('stream me three words'));
      const parts: StreamPart[] = [];
      for await (const part of await model.doStream(ask('stream me three words'))) parts.push(part);
      assert.equal(parts[0]?.type, 'response-metadata', 'response-metadata comes first');
      const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
      assert.equal(text, expected.text);
      assert.ok(
        parts.filter((part) => part.type === 'text-delta').length > 1,
        'the text arrives in several deltas',
      );
      const finishes = parts.filter((part) => part.type === 'finish');
      assert.equal(finishes.length, 1, 'exactly one finish part');
      const finish = parts.at(-1);
      assert.equal(finish?.type, 'finish', 'finish is the last part');
      if (finish?.type === 'finish') {
        assert.equal(finish.finishReason, 'stop');
        assert.deepEqual(
          finish.usage,
          expected.usage,
          'the finish part carries the same usage as doGenerate',
        );
      }
      assert.equal(parts.filter((part) => part.type === 'error').length, 0);
    },
  );

  conformanceTest(
    'aborting mid-stream ends the stream with an aborted error and closes the upstream request',
    async (subject) => {
      const controller = new AbortController();
      const stream = await subject.model.doStream(ask('chunk-delay:100 one two three four five six seven'), {
        signal: controller.signal,
      });
      const parts: StreamPart[] = [];
      for await (const part of stream) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }
      const last = parts.at(-1);
      assert.equal(last?.type, 'error', 'the stream ends with an error part');
      if (last?.type === 'error') assert.equal(last.error.code, 'aborted');
      assert.equal(parts.filter((part) => part.type === 'finish').length, 0, 'no finish after an abort');
      await subject.whenUpstreamAborted(1);
    },
  );

  conformanceTest(
    'an already aborted signal rejects doGenerate and doStream with aborted',
    async ({ model }) => {
      const signal = AbortSignal.abort();
      await assert.rejects(model.doGenerate(ask('never sent'), { signal }), errorWithCode('aborted'));
      await assert.rejects(model.doStream(ask('never sent'), { signal }), errorWithCode('aborted'));
    },
  );

  conformanceTest(
    'HTTP 401 becomes upstream_auth, not retryable, without the api key',
    async ({ model, apiKey }) => {
      await assert.rejects(model.doGenerate(ask('fail:401')), upstreamError('upstream_auth', false, apiKey));
      await assert.rejects(model.doStream(ask('fail:401')), upstreamError('upstream_auth', false, apiKey));
    },
  );

  conformanceTest('HTTP 429 becomes upstream_rate_limit, retryable', async ({ model, apiKey }) => {
    await assert.rejects(
      model.doGenerate(ask('fail:429')),
      upstreamError('upstream_rate_limit', true, apiKey),
    );
  });

  conformanceTest(
    'HTTP 500 becomes upstream_error, retryable; doStream rejects before streaming',
    async ({ model, apiKey }) => {
      await assert.rejects(model.doGenerate(ask('fail:500')), upstreamError('upstream_error', true, apiKey));
      await assert.rejects(model.doStream(ask('fail:500')), upstreamError('upstream_error', true, apiKey));
    },
  );

  conformanceTest(
    'a connection the upstream drops mid-stream ends the stream with one error part',
    async ({ model, apiKey }) => {
      const parts: StreamPart[] = [];
      for await (const part of await model.doStream(ask('cut: one two three'))) parts.push(part);
      assert.ok(
        parts.some((part) => part.type === 'text-delta'),
        'the stream had started',
      );
      const last = parts.at(-1);
      assert.equal(last?.type, 'error');
      assert.equal(parts.filter((part) => part.type === 'error' || part.type === 'finish').length, 1);
      if (last?.type === 'error') assertNoSecret(last.error, apiKey);
      await assert.rejects(collectStream(await model.doStream(ask('cut: again'))), ByzerLLMError);
    },
  );

  conformanceTest(
    'an unreachable base URL becomes upstream_unreachable naming the URL',
    async ({ model, apiKey }, { unreachableBaseUrl = '' }) => {
      const check = (error: unknown) => {
        upstreamError('upstream_unreachable', true, apiKey)(error);
        assert.ok(
          (error as Error).message.includes(unreachableBaseUrl),
          `the message names ${unreachableBaseUrl}`,
        );
        return true;
      };
      await assert.rejects(model.doGenerate(ask('hello?')), check);
      await assert.rejects(model.doStream(ask('hello?')), check);
    },
    async () => ({ unreachableBaseUrl: `http://127.0.0.1:${await closedPort()}/v1` }),
  );
}

/** A port that was free a moment ago and now refuses connections. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

function errorWithCode(code: ErrorCode) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, `expected a ByzerLLMError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

function upstreamError(code: ErrorCode, retryable: boolean, apiKey: string) {
  return (error: unknown) => {
    errorWithCode(code)(error);
    assert.equal((error as ByzerLLMError).isRetryable, retryable, `isRetryable of ${code}`);
    assertNoSecret(error as ByzerLLMError, apiKey);
    return true;
  };
}

function assertNoSecret(error: ByzerLLMError, apiKey: string): void {
  assert.ok(!error.message.includes(apiKey), `the api key leaked into the message: ${error.message}`);
  assert.ok(!JSON.stringify(error.toJSON()).includes(apiKey), 'the api key leaked into the serialised error');
}
