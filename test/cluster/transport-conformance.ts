/**
 * The transport conformance suite: written once, run against every `WorkerTransport` (in-process now;
 * child-process and NATS transports run it too). A worker reached through any transport must behave
 * exactly like the engine itself: same results, same error codes, streams ending in one `finish` or
 * `error` part, and cancellation that reaches the upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WorkerEndpoint, WorkerTransport } from '../../src/cluster/index.js';
import {
  ByzerLLMError,
  type ChatRequest,
  deploymentSpecSchema,
  type StreamPart,
} from '../../src/core/index.js';
import { type OpenAIUpstream, startOpenAIUpstream } from '../support/openai-upstream.js';

export interface TransportUnderTest {
  transport: WorkerTransport;
  /** Releases whatever the transport needs (processes, connections). */
  close(): Promise<void>;
}

const user = (text: string): ChatRequest => ({ messages: [{ role: 'user', content: text }] });

export function runTransportConformance(name: string, create: () => Promise<TransportUnderTest>): void {
  describe(`transport conformance: ${name}`, () => {
    let upstream: OpenAIUpstream;
    let underTest: TransportUnderTest;
    let worker: WorkerEndpoint;

    before(async () => {
      upstream = await startOpenAIUpstream({ apiKey: 'sk-conformance' });
      underTest = await create();
      worker = await underTest.transport.startWorker({
        spec: deploymentSpecSchema.parse({
          name: 'conformance',
          pretrainedModelType: 'saas/openai',
          inferParams: {
            'saas.api_key': 'sk-conformance',
            'saas.model': 'test-model',
            'saas.base_url': upstream.url,
            'saas.max_retries': '0',
          },
        }),
        workerIndex: 0,
        gpuIndices: [],
        warn: () => {},
      });
    });

    after(async () => {
      await worker?.close();
      await underTest?.close();
      await upstream?.close();
    });

    test('chat returns the upstream answer with usage and a finish reason', async () => {
      const result = await worker.call('chat', user('hello'));
      assert.equal(result.text, 'echo: hello');
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0);
    });

    test('a stream ends with exactly one finish and its deltas make the non-stream text', async () => {
      const parts: StreamPart[] = [];
      for await (const part of await worker.stream(user('stream me please'))) parts.push(part);
      const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
      assert.equal(text, (await worker.call('chat', user('stream me please'))).text);
      assert.equal(parts.filter((part) => part.type === 'finish').length, 1);
      assert.equal(parts.at(-1)?.type, 'finish');
    });

    test('streams and calls started in the same turn each get their own complete answer, in order', async () => {
      // Transports may carry one turn's messages together (the process transport's IPC batches):
      // every answer must still reach its own request, whole, with its parts in order.
      const texts = ['first', 'second', 'third', 'fourth'];
      const collect = async (text: string) => {
        const parts: StreamPart[] = [];
        for await (const part of await worker.stream(user(text))) parts.push(part);
        return parts;
      };
      const [streams, calls] = await Promise.all([
        Promise.all(texts.map(collect)),
        Promise.all(texts.map((text) => worker.call('chat', user(text)))),
      ]);
      texts.forEach((text, index) => {
        const parts = streams[index]!;
        const deltas = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
        assert.equal(deltas, `echo: ${text}`);
        assert.deepEqual(
          parts.map((part) => part.type).filter((type) => type !== 'text-delta'),
          ['response-metadata', 'finish'],
        );
        assert.equal(calls[index]!.text, `echo: ${text}`);
      });
    });

    test('meta and embeddings pass through', async () => {
      const meta = await worker.call('meta', {});
      assert.equal(meta.model_name, 'test-model');
      assert.equal(meta.model_deploy_type, 'saas');
      const embedded = await worker.call('embedding', { values: ['a', 'b'] });
      assert.equal(embedded.embeddings.length, 2);
      assert.ok(embedded.embeddings[0]!.length > 0);
    });

    test('upstream errors keep their code and retryability', async () => {
      await assert.rejects(worker.call('chat', user('fail:401')), (error: unknown) => {
        assert.ok(error instanceof ByzerLLMError);
        assert.equal(error.code, 'upstream_auth');
        assert.equal(error.isRetryable, false);
        return true;
      });
      await assert.rejects(worker.call('chat', user('fail:429')), (error: ByzerLLMError) => {
        assert.equal(error.code, 'upstream_rate_limit');
        assert.equal(error.isRetryable, true);
        return true;
      });
    });

    test('a task the engine does not offer fails as unsupported', async () => {
      await assert.rejects(
        worker.call('rerank', { query: 'q', documents: ['d'] }),
        (error: ByzerLLMError) => {
          assert.equal(error.code, 'unsupported');
          return true;
        },
      );
    });

    test('aborting a stream mid-way closes the upstream request', async () => {
      upstream.reset();
      const abort = new AbortController();
      const parts = await worker.stream(user('chunk-delay:30 a long answer that streams slowly'), {
        signal: abort.signal,
      });
      const seen: StreamPart[] = [];
      for await (const part of parts) {
        seen.push(part);
        if (part.type === 'text-delta') abort.abort();
      }
      await upstream.waitUntil(() => upstream.abortedCount() === 1 && upstream.inFlight() === 0);
      assert.equal(upstream.abortedCount(), 1);
      assert.ok(
        seen.every((part) => part.type !== 'finish'),
        'an aborted stream does not finish normally',
      );
    });

    test('an already aborted signal fails the call as aborted', async () => {
      const abort = new AbortController();
      abort.abort();
      await assert.rejects(
        worker.call('chat', user('hello'), { signal: abort.signal }),
        (error: ByzerLLMError) => {
          assert.equal(error.code, 'aborted');
          return true;
        },
      );
    });
  });
}
