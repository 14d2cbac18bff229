/** `saas.*` parameter validation of the OpenAI-compatible engine. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByzerLLMError } from '../../src/core/errors.js';
import { readOpenAICompatibleParams } from '../../src/engines/shared/openai-compatible/openai-compatible-provider.js';
import { createEngine } from './openai-engine-fixture.js';

const read = (params: Record<string, string>, warnings: string[] = []) =>
  readOpenAICompatibleParams(params, {}, (message) => warnings.push(message));

function invalidArgument(...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ByzerLLMError, String(error));
    assert.equal(error.code, 'invalid_argument');
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" names ${fragment}`);
    return true;
  };
}

test('defaults: gpt-3.5-turbo at api.openai.com/v1, 600 s timeout and deadline, 2 retries, no extra headers', () => {
  assert.deepEqual(read({ 'saas.api_key': 'sk-x' }), {
    apiKey: 'sk-x',
    model: 'gpt-3.5-turbo',
    baseUrl: 'https://api.openai.com/v1',
    timeoutMs: 600_000,
    maxRetries: 2,
    deadlineMs: 600_000,
    headers: {},
    authHeaders: { authorization: 'Bearer sk-x' },
  });
});

test('values are read and the base URL loses its trailing slash', () => {
  const params = read({
    'saas.api_key': 'sk-x',
    'saas.model': 'deepseek-chat',
    'saas.base_url': 'https://api.deepseek.com/v1/',
    'saas.timeout': '2.5',
    'saas.max_retries': '0',
    'saas.deadline': '30',
    'saas.headers': '{"X-Title":"app"}',
  });
  assert.equal(params.deadlineMs, 30_000);
  assert.equal(params.baseUrl, 'https://api.deepseek.com/v1');
  assert.equal(params.model, 'deepseek-chat');
  assert.equal(params.timeoutMs, 2500);
  assert.equal(params.maxRetries, 0);
  assert.deepEqual(params.headers, { 'x-title': 'app' });
});

test('a vendor configuration supplies its own defaults', () => {
  const params = readOpenAICompatibleParams(
    { 'saas.api_key': 'sk-x' },
    { defaultBaseUrl: 'https://api.moonshot.cn/v1', defaultModel: 'moonshot-v1-8k' },
    () => {},
  );
  assert.equal(params.baseUrl, 'https://api.moonshot.cn/v1');
  assert.equal(params.model, 'moonshot-v1-8k');
});

test('a missing or empty api key is an invalid argument naming saas.api_key', async () => {
  assert.throws(() => read({}), invalidArgument('saas.api_key'));
  assert.throws(() => read({ 'saas.api_key': '  ' }), invalidArgument('saas.api_key'));
  await assert.rejects(createEngine({ 'saas.model': 'gpt-4o' }), invalidArgument('saas.api_key'));
});

test('bad numbers name the parameter and the value', () => {
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.timeout': 'abc' }),
    invalidArgument('saas.timeout', '"abc"'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.timeout': '0' }),
    invalidArgument('saas.timeout', '"0"'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.max_retries': 'two' }),
    invalidArgument('saas.max_retries', '"two"'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.max_retries': '1.5' }),
    invalidArgument('saas.max_retries', '"1.5"'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.max_retries': '-1' }),
    invalidArgument('saas.max_retries', '"-1"'),
  );
});

test('a bad base URL or headers value is an invalid argument; header values are not echoed', () => {
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.base_url': 'api.openai.com' }),
    invalidArgument('saas.base_url', 'api.openai.com'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.base_url': 'ftp://host/v1' }),
    invalidArgument('saas.base_url'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.headers': '{"X-Token": secret-value' }),
    (error: unknown) => {
      invalidArgument('saas.headers')(error);
      assert.equal((error as Error).message.includes('secret-value'), false);
      return true;
    },
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.headers': '["a"]' }),
    invalidArgument('saas.headers'),
  );
  assert.throws(
    () => read({ 'saas.api_key': 'sk-x', 'saas.headers': '{"X-A":{"b":1}}' }),
    invalidArgument('saas.headers', 'X-A'),
  );
});

test('unknown saas.* keys are warnings, other keys are left to other layers, secrets never appear', () => {
  const warnings: string[] = [];
  read(
    { 'saas.api_key': 'sk-very-secret', 'saas.api_base': 'x', 'saas.local_address': 'y', 'gen.top_k': '5' },
    warnings,
  );
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /unknown parameter saas\.api_base/);
  assert.match(warnings[1]!, /unknown parameter saas\.local_address/);
  assert.equal(warnings.join(' ').includes('sk-very-secret'), false);
});

test('the engine factory passes unknown-parameter warnings to context.warn', async () => {
  const warnings: string[] = [];
  const engine = await createEngine({ 'saas.api_key': 'sk-x', 'saas.xyz': '1' }, warnings);
  await engine.dispose();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /saas\.xyz/);
});
