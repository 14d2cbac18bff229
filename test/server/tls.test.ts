/**
 * `--ssl_keyfile` / `--ssl_certfile`: the gateway serves HTTPS with a certificate made by openssl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Gateway, startGateway } from './gateway-fixture.js';

const run = promisify(execFile);

describe('gateway over HTTPS', () => {
  let directory: string;
  let gateway: Gateway;
  let certificate: Buffer;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-tls-'));
    const keyFile = path.join(directory, 'key.pem');
    const certFile = path.join(directory, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]);
    certificate = await fs.readFile(certFile);
    gateway = await startGateway({ server: { sslKeyFile: keyFile, sslCertFile: certFile } });
  });
  after(async () => {
    await gateway.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  test('answers a chat completion over https', async () => {
    assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const body = await new Promise<string>((resolve, reject) => {
      const outgoing = request(
        `${gateway.url}/chat/completions`,
        { method: 'POST', ca: certificate, headers: { 'content-type': 'application/json' } },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve(text));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(JSON.stringify({ model: 'gpt_chat', messages: [{ role: 'user', content: 'secure' }] }));
    });
    assert.equal(JSON.parse(body).choices[0].message.content, 'echo: secure');
  });
});
