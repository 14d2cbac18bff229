import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDeploymentName, isSecretParam, maskSecrets } from '../../src/core/index.js';

test('credentials are secret; counts that mention tokens are not', () => {
  for (const key of [
    'saas.api_key',
    'saas.apikey',
    'saas.secret_key',
    'saas.api_secret',
    'saas.access_token',
    'saas.token',
    'saas.aws_access_key',
    'saas.aws_session_token',
    'saas.password',
  ]) {
    assert.equal(isSecretParam(key), true, key);
  }
  for (const key of ['max_tokens', 'saas.max_output_tokens', 'saas.model', 'n_ctx', 'saas.base_url']) {
    assert.equal(isSecretParam(key), false, key);
  }
  assert.deepEqual(maskSecrets({ 'saas.api_key': 'sk-1', max_tokens: '64' }), {
    'saas.api_key': '******',
    max_tokens: '64',
  });
});

test('saas.headers is secret when it names a credential header, and only those values are masked', () => {
  for (const name of ['Authorization', 'x-api-key', 'api-key', 'Cookie', 'X-Auth-Token', 'X-Client-Secret']) {
    const headers = JSON.stringify({ [name]: 'credential', 'X-Title': 'app' });
    assert.equal(isSecretParam('saas.headers', headers), true, name);
    assert.deepEqual(JSON.parse(maskSecrets({ 'saas.headers': headers })['saas.headers']!), {
      [name]: '******',
      'X-Title': 'app',
    });
  }
  const plain = '{"X-Title":"app","HTTP-Referer":"https://example.com"}';
  assert.equal(isSecretParam('saas.headers', plain), false);
  assert.equal(maskSecrets({ 'saas.headers': plain })['saas.headers'], plain);
  // Unreadable JSON may hold anything: all of it is secret.
  assert.equal(isSecretParam('saas.headers', '{"Authorization": Bearer sk'), true);
  assert.equal(maskSecrets({ 'saas.headers': '{"Authorization": Bearer sk' })['saas.headers'], '******');
});

test('deployment names: letters, digits, _ and -; the message names the name and the rule', () => {
  for (const name of ['qianwen_chat', 'tiny_chat', 'deepseek-chat', 'gpt_chat', 'A1']) {
    assert.equal(checkDeploymentName(name), undefined, name);
  }
  for (const name of ['a.b', '', '-lead', '_lead', 'a/b', 'x'.repeat(129), 'a b', 'ü']) {
    assert.match(
      checkDeploymentName(name) ?? '',
      /^invalid deployment name .* letters, digits, "_" or "-"/,
      name,
    );
  }
});
