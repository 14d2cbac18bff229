import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSecretParam, maskSecrets } from '../../src/core/index.js';

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
