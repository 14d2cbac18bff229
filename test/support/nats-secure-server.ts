/**
 * A real `nats-server` with TLS (a CA made here with openssl), JetStream and per-role users, as
 * docs/cluster.md configures one: `head` (user/password, everything), the node (an nkey user, only
 * its subjects), `operator` (may deploy), `client` (may only query) and `gateway` (queries, access,
 * governance and the response cache bucket). 127.0.0.1, random port,
 * everything in a temporary folder removed by `close()`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { nkeys } from '@nats-io/transport-node';

const run = promisify(execFile);

export interface SecureNatsServer {
  port: number;
  folder: string;
  /** PEM CA that signed the server certificate. */
  caFile: string;
  passwords: { head: string; operator: string; client: string; gateway: string };
  /** A file holding the node's nkey seed (`--nats_creds`). */
  nodeSeedFile: string;
  /**
   * The same nkey in the creds file format `nsc` writes (JWT + seed). A server without an operator
   * checks the nkey signature only, so the JWT here is a placeholder; operator mode needs nsc.
   */
  nodeCredsFile: string;
  nodeSeed: string;
  /** `nats://user:password@127.0.0.1:PORT`. */
  urlFor(user: 'head' | 'operator' | 'client' | 'gateway', password?: string): string;
  url: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCertificates(folder: string): Promise<{ ca: string; cert: string; key: string }> {
  const file = (name: string) => path.join(folder, name);
  const subject = ['-subj'];
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    ...subject,
    '/CN=byzerllm test CA',
    '-keyout',
    file('ca-key.pem'),
    '-out',
    file('ca.pem'),
  ]);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    ...subject,
    '/CN=127.0.0.1',
    '-keyout',
    file('server-key.pem'),
    '-out',
    file('server.csr'),
  ]);
  await fs.writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
    '-out',
    file('server.pem'),
  ]);
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server-key.pem') };
}

/** The permissions of docs/cluster.md, one block per role. */
/**
 * What a gateway on another machine (`byzerllm serve --address`) may do besides querying: ask the
 * head to admit requests, mirror routes, share cooldowns, and read and write the response cache
 * bucket, and nothing else of JetStream (docs/cluster.md).
 */
export const GATEWAY_CACHE_SUBJECTS = [
  '$JS.API.INFO',
  '$JS.API.STREAM.INFO.KV_byzerllm_response_cache',
  '$JS.API.STREAM.CREATE.KV_byzerllm_response_cache',
  '$JS.API.STREAM.UPDATE.KV_byzerllm_response_cache',
  '$JS.API.DIRECT.GET.KV_byzerllm_response_cache.>',
  '$KV.byzerllm_response_cache.>',
];

export function rolePermissions(): { node: string; operator: string; client: string; gateway: string } {
  const list = (subjects: string[]) => `[${subjects.map((subject) => JSON.stringify(subject)).join(', ')}]`;
  const query = [
    'byzerllm.admin.call',
    'byzerllm.admin.stream',
    'byzerllm.admin.list',
    'byzerllm.admin.stat',
    'byzerllm.admin.meta',
    'byzerllm.admin.status',
    'byzerllm.cancel.*',
    // The client pings the head while its requests wait (nats-cluster-client.ts).
    '$SRV.PING.byzerllm-head',
    '_INBOX.>',
  ];
  return {
    node: `{
      publish: ${list([
        'byzerllm.heartbeat.*',
        'byzerllm.admin.register',
        'byzerllm.node.*.ping',
        '_INBOX.>',
        '$JS.API.INFO',
        '$JS.API.STREAM.INFO.KV_byzerllm_nodes',
        '$JS.API.STREAM.CREATE.KV_byzerllm_nodes',
        '$JS.API.STREAM.UPDATE.KV_byzerllm_nodes',
        '$KV.byzerllm_nodes.>',
      ])}
      subscribe: ${list(['byzerllm.node.>', 'byzerllm.worker.>', 'byzerllm.cancel.*', 'byzerllm.head.hello', '_INBOX.>'])}
      allow_responses: true
    }`,
    operator: `{ publish: ${list([...query, 'byzerllm.admin.deploy', 'byzerllm.admin.undeploy'])}, subscribe: ${list(['_INBOX.>'])} }`,
    client: `{ publish: ${list(query)}, subscribe: ${list(['_INBOX.>'])} }`,
    gateway: `{
      publish: ${list([
        ...query,
        'byzerllm.access.>',
        'byzerllm.governance.routes',
        'byzerllm.governance.cooldown',
        ...GATEWAY_CACHE_SUBJECTS,
      ])}
      subscribe: ${list(['byzerllm.access.changed', 'byzerllm.governance.changed', 'byzerllm.governance.cooldown', '_INBOX.>'])}
    }`,
  };
}

export async function startSecureNatsServer(): Promise<SecureNatsServer> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-nats-secure-'));
  const port = await freePort();
  const certificates = await makeCertificates(folder);
  const node = nkeys.createUser();
  const nodeSeed = new TextDecoder().decode(node.getSeed());
  const nodeSeedFile = path.join(folder, 'node.nk');
  await fs.writeFile(nodeSeedFile, `${nodeSeed}\n`, { mode: 0o600 });
  const nodeCredsFile = path.join(folder, 'node.creds');
  const placeholderJwt = `${Buffer.from('{"typ":"JWT","alg":"ed25519-nkey"}').toString('base64url')}.e30.placeholder`;
  await fs.writeFile(
    nodeCredsFile,
    `-----BEGIN NATS USER JWT-----\n${placeholderJwt}\n------END NATS USER JWT------\n\n` +
      `-----BEGIN USER NKEY SEED-----\n${nodeSeed}\n------END USER NKEY SEED------\n`,
    { mode: 0o600 },
  );
  const secret = () => randomBytes(12).toString('hex');
  const passwords = { head: secret(), operator: secret(), client: secret(), gateway: secret() };
  const permissions = rolePermissions();
  const config = `
listen: 127.0.0.1:${port}
jetstream { store_dir: ${JSON.stringify(path.join(folder, 'js'))} }
tls { cert_file: ${JSON.stringify(certificates.cert)}, key_file: ${JSON.stringify(certificates.key)}, timeout: 5 }
authorization {
  users: [
    { user: head, password: ${JSON.stringify(passwords.head)} }
    { nkey: ${node.getPublicKey()}, permissions: ${permissions.node} }
    { user: operator, password: ${JSON.stringify(passwords.operator)}, permissions: ${permissions.operator} }
    { user: client, password: ${JSON.stringify(passwords.client)}, permissions: ${permissions.client} }
    { user: gateway, password: ${JSON.stringify(passwords.gateway)}, permissions: ${permissions.gateway} }
  ]
}
`;
  const configFile = path.join(folder, 'nats.conf');
  await fs.writeFile(configFile, config);
  const child = await launch(configFile);
  return {
    port,
    folder,
    caFile: certificates.ca,
    passwords,
    nodeSeedFile,
    nodeCredsFile,
    nodeSeed,
    urlFor: (user, password) => `nats://${user}:${password ?? passwords[user]}@127.0.0.1:${port}`,
    url: `nats://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      await fs.rm(folder, { recursive: true, force: true });
    },
  };
}

/** A plain nats-server (no JetStream) that requires `token`. */
export async function startTokenNatsServer(token: string): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const child = await launch(['-a', '127.0.0.1', '-p', String(port), '--auth', token]);
  return {
    url: `nats://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function launch(configOrArguments: string | string[]): Promise<ChildProcess> {
  const args = typeof configOrArguments === 'string' ? ['-c', configOrArguments] : configOrArguments;
  const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    const output: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      output.push(line);
      if (line.includes('Server is ready')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`nats-server exited with ${code}: ${output.slice(-5).join(' | ')}`)),
    );
  });
}
