/**
 * Byzer-LLM's client API as ported programs call it (byzer-spec §3), translated line by line to TS,
 * against a real deployment: the OpenAI stand-in behind an in-process `Head`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { ByzerLLM, EventName, type RawModelResult, tool } from '../../src/client/index.js';
import { AbortedError, type ChatRequest, InvalidArgumentError } from '../../src/core/index.js';
import { type ClientFixture, lastChatBody, startClientFixture } from './client-fixture.js';

let fixture: ClientFixture;

before(async () => {
  fixture = await startClientFixture();
});

after(async () => {
  await fixture?.close();
});

function chatRequests(): number {
  return fixture.upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;
}

test('llm.chat(model, LLMRequest(instruction=…))[0].output: one call per instruction, its limits sent', async () => {
  const [first, second] = await fixture.llm.chat('chat', {
    instruction: ['hello world', 'bye'],
    max_length: 33,
    temperature: 0.3,
  });
  assert.equal(first!.output, 'echo: hello world');
  assert.equal(second!.output, 'echo: bye');
  const body = lastChatBody(fixture.upstream);
  assert.equal(body.max_tokens, 33);
  assert.equal(body.temperature, 0.3);
  await assert.rejects(fixture.llm.chat('chat', { instruction: 3 } as never), InvalidArgumentError);
});

test('llm.emb(model, LLMRequest(instruction="wow"))[0].output is the vector; metadata is the meta', async () => {
  const [vector] = await fixture.llm.emb('chat', { instruction: 'wow' });
  assert.ok(Array.isArray(vector!.output) && vector!.output.length > 0);
  assert.equal(vector!.metadata, vector!.meta);
  const [same] = await fixture.llm.emb('chat', 'wow');
  assert.deepEqual(same!.output, vector!.output);
});

test('responses carry metadata (meta an alias) and .response, as LLMFunctionCallResponse did', async () => {
  const [answer] = await fixture.llm.chatOai({ conversations: 'hi' });
  assert.equal(answer!.metadata, answer!.meta);
  assert.ok(answer!.metadata.request_id.length > 0);
  const computeNow = tool({
    name: 'compute_now',
    description: 'the current time',
    parameters: z.object({}),
    execute: () => '2024-06-14',
  });
  const [called] = await fixture.llm.chatOai({
    conversations: 'what is the current time',
    tools: [computeNow],
    executeTool: true,
  });
  assert.deepEqual(called!.values, ['2024-06-14']);
  assert.equal(called!.response.output, called!.output);
  assert.doesNotMatch(JSON.stringify(called), /"response"/, 'response is not enumerable (no JSON loop)');
});

test('abort(requestId) cancels the in-flight call at the upstream; a stream is abortable by its meta.request_id', async () => {
  fixture.upstream.reset();
  const slow = new ByzerLLM({ cluster: fixture.head });
  await slow.deploy({
    udfName: 'slow_chat',
    pretrainedModelType: 'saas/openai',
    inferParams: { ...fixture.inferParams },
  });
  const pending = slow.chatOai({ model: 'slow_chat', conversations: 'hi delay:5000', requestId: 'req-1' });
  await fixture.upstream.waitUntil(() => fixture.upstream.inFlight() === 1);
  assert.equal(slow.abort('req-1'), true);
  await assert.rejects(pending, AbortedError);
  await fixture.upstream.waitUntil(() => fixture.upstream.abortedCount() === 1);
  assert.equal(slow.abort('req-1'), false, 'a finished request is forgotten');

  const stream = slow.streamChatOai({ model: 'slow_chat', conversations: 'tell a story chunk-delay:200' });
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const [text, meta] of stream) {
      seen.push(text);
      if (seen.length === 1) assert.equal(slow.abort(meta.request_id), true);
    }
  }, AbortedError);
  await fixture.upstream.waitUntil(() => fixture.upstream.abortedCount() === 2);
  await slow.undeploy('slow_chat');
});

test('addEventCallback(BEFORE_CALL_MODEL) can answer instead of the model; AFTER_CALL_MODEL sees and replaces results', async () => {
  const llm = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  const seenRequests: ChatRequest[][] = [];
  llm.addEventCallback(EventName.BEFORE_CALL_MODEL, (_llm, model, requests) => {
    seenRequests.push(requests);
    const text = requests[0]!.messages.at(-1)!.content;
    if (text === 'cached question') return [false, [{ predict: 'cached answer', metadata: { model } }]];
    return [true, undefined];
  });
  const afterResults: RawModelResult[][] = [];
  llm.addEventCallback(EventName.AFTER_CALL_MODEL, (_llm, _model, results) => {
    afterResults.push(results);
  });
  const before = chatRequests();
  const [cached] = await llm.chatOai({ conversations: 'cached question' });
  assert.equal(cached!.output, 'cached answer');
  assert.equal(chatRequests(), before, 'the model was not called');
  const [live] = await llm.chatOai({ conversations: 'live question' });
  assert.equal(live!.output, 'echo: live question');
  assert.equal(afterResults.at(-1)![0]!.predict, 'echo: live question');
  assert.equal(seenRequests.length, 2);

  llm.addEventCallback(EventName.AFTER_CALL_MODEL, () => [false, [{ predict: 'rewritten' }]]);
  const [rewritten] = await llm.chatOai({ conversations: 'anything' });
  assert.equal(rewritten!.output, 'rewritten');
  const streamed: string[] = [];
  for await (const [text] of llm.streamChatOai({ conversations: 'cached question' })) streamed.push(text);
  assert.deepEqual(streamed, ['cached answer']);
});

test('streamChatOai runs AFTER_CALL_MODEL once the stream has ended, with the assembled answer', async () => {
  const llm = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  const afterResults: RawModelResult[][] = [];
  llm.addEventCallback(EventName.AFTER_CALL_MODEL, (_llm, model, results) => {
    assert.equal(model, 'chat');
    afterResults.push(results);
  });
  const pieces: string[] = [];
  for await (const [text, meta] of llm.streamChatOai({ conversations: 'stream question', deltaMode: true })) {
    // Every item but the last is yielded before the stream has ended, so before the callback ran.
    if (meta.finish_reason === '') assert.equal(afterResults.length, 0);
    pieces.push(text);
  }
  assert.ok(pieces.length > 2, `several pieces, got ${pieces.length}`);
  assert.equal(afterResults.length, 1);
  const [result] = afterResults[0]!;
  assert.equal(result!.predict, 'echo: stream question');
  assert.equal(result!.predict, pieces.join(''));
  assert.equal(result!.metadata!.finish_reason, 'stop');
  assert.ok((result!.metadata!.generated_tokens_count as number) > 0);
  assert.equal(result!.input!.messages.at(-1)!.content, 'stream question');
});

test('an AFTER_CALL_MODEL callback answering [false, results] replaces the last streamed item', async () => {
  const llm = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  let laterCallbackRan = false;
  llm.addEventCallback(EventName.AFTER_CALL_MODEL, (_llm, _model, results) => [
    false,
    [{ predict: `reviewed: ${results[0]!.predict}`, metadata: { reviewed: true } }],
  ]);
  llm.addEventCallback(EventName.AFTER_CALL_MODEL, () => {
    laterCallbackRan = true;
  });
  const whole: [string, Record<string, unknown>][] = [];
  for await (const [text, meta] of llm.streamChatOai({ conversations: 'check me' }))
    whole.push([text, { ...meta }]);
  const [lastText, lastMeta] = whole.at(-1)!;
  assert.equal(lastText, 'reviewed: echo: check me');
  assert.equal(lastMeta.reviewed, true);
  assert.equal(lastMeta.finish_reason, 'stop', 'the stream meta is kept under the replacement');
  assert.equal(whole.at(-2)![0], 'echo: check me', 'items before the last are the model text so far');
  assert.equal(laterCallbackRan, false, 'the chain stops at the first [false, …]');

  const deltas: string[] = [];
  for await (const [text] of llm.streamChatOai({ conversations: 'check me', deltaMode: true }))
    deltas.push(text);
  assert.equal(deltas.slice(0, -1).join(''), 'echo: check me');
  assert.equal(deltas.at(-1), 'reviewed: echo: check me');
});

test('setupRoleMapping and a per-call roleMapping shape the prompt the client flattens', async () => {
  const llm = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  const conversation = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hi' },
  ];
  assert.equal(
    await llm.generateInstructionFromHistory('chat', conversation),
    'Be brief.\nUser:hi\nAssistant:',
  );
  llm.setupRoleMapping('chat', { userRole: 'Human: ', assistantRole: 'Bot: ' });
  assert.equal(await llm.generateInstructionFromHistory('chat', conversation), 'Be brief.\nHuman: hi\nBot: ');
  assert.equal(
    await llm.generateInstructionFromHistory('chat', conversation, { userRole: 'Q: ' }),
    'Be brief.\nQ: hi\nBot: ',
  );
});

test('setupMaxOutputLength sets max tokens unless llmConfig does; input/model lengths are kept', async () => {
  const llm = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  llm.setupMaxOutputLength('chat', 77).setupMaxInputLength('chat', 1000).setupMaxModelLength('chat', 2000);
  await llm.chatOai({ conversations: 'hi' });
  assert.equal(lastChatBody(fixture.upstream).max_tokens, 77);
  await llm.chatOai({ conversations: 'hi', llmConfig: { max_length: 12 } });
  assert.equal(lastChatBody(fixture.upstream).max_tokens, 12);
  assert.equal(llm.getMaxOutputLength('chat'), 77);
  assert.equal(llm.getMaxInputLength('chat'), 1000);
  assert.equal(llm.getMaxModelLength('chat'), 2000);
});

test('enableDefaultSysMessage puts the base system message first; setupBaseSystemMessages replaces it', async () => {
  const llm = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  const Story = z.object({ title: z.string() });
  await llm.chatOai({ conversations: 'a story', responseClass: Story, enableDefaultSysMessage: true });
  let messages = lastChatBody(fixture.upstream).messages as { role: string; content: string }[];
  assert.equal(messages[0]!.role, 'system');
  assert.match(messages[0]!.content, /RESPONSE_WITH_CLASS/);

  llm.setupBaseSystemMessages('chat', 'You are the house assistant.');
  const conversation = [
    { role: 'system', content: 'Answer in French.' },
    { role: 'user', content: 'hi' },
  ];
  await llm.chatOai({ conversations: conversation, enableDefaultSysMessage: true });
  messages = lastChatBody(fixture.upstream).messages as { role: string; content: string }[];
  assert.equal(messages[0]!.content, 'You are the house assistant.\n\nAnswer in French.');
  assert.equal(conversation[0]!.content, 'Answer in French.', "the caller's list is not modified");

  await llm.chatOai({ conversations: 'plain' });
  messages = lastChatBody(fixture.upstream).messages as { role: string; content: string }[];
  assert.deepEqual(
    messages.map((message) => message.role),
    ['user'],
  );
});

test('onlyReturnPrompt returns the request without calling the model', async () => {
  const before = chatRequests();
  const [prompt] = await fixture.llm.chatOai({
    conversations: 'what is 1+1',
    llmConfig: { max_length: 9 },
    onlyReturnPrompt: true,
  });
  assert.equal(prompt!.output, '');
  assert.equal(prompt!.input.maxTokens, 9);
  assert.equal(prompt!.input.messages.at(-1)!.content, 'what is 1+1');
  const [typed] = await fixture.llm.chatOai({
    conversations: 'a story',
    responseClass: z.object({ title: z.string() }),
    onlyReturnPrompt: true,
  });
  assert.equal(typed!.metadata.reason, 'Only return prompt');
  assert.equal(chatRequests(), before);
});

test('setup(name, value) takes Byzer-LLM conf names; setupReset forgets them; sub-clients are kept by name', () => {
  const llm = new ByzerLLM({ cluster: fixture.head });
  llm.setup('num_gpus', 0).setup('workerMaxConcurrency', '3').setup('infer_backend', 'llama_cpp');
  assert.deepEqual(llm.deployConf(), { gpusPerWorker: 0, workerConcurrency: 3, inferBackend: 'llama_cpp' });
  assert.throws(() => llm.setup('num_gpu', 1), {
    message: /unknown setup name "num_gpu"; allowed: num_gpus/,
  });
  assert.throws(() => llm.setup('num_cpus', 'many'), InvalidArgumentError);
  llm.setupReset();
  assert.deepEqual(llm.deployConf(), {});

  const vision = ByzerLLM.fromDefaultModel('chat', { cluster: fixture.head });
  llm.setupSubClient('vision_model', vision);
  assert.equal(llm.getSubClient('vision_model'), vision);
  llm.removeSubClient('vision_model');
  assert.equal(llm.getSubClient('vision_model'), undefined);
});
