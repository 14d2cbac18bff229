/**
 * How byzerllm authenticates to NATS, the way NATS users expect it:
 *
 * - credentials in the URL: `nats://user:password@host:4222` or `nats://token@host:4222`;
 * - a credentials file (`--nats_creds FILE`): a JWT creds file as `nsc` writes it, or a file holding
 *   one nkey user seed (`SU…`, for a server whose config lists nkey users);
 * - TLS (`--nats_tls_ca/--nats_tls_cert/--nats_tls_key`, or a `tls://` URL): the server is verified
 *   against the CA; a client certificate is sent when the server asks for one.
 *
 * Credentials never reach a log line or an error message: `redactNatsUrl` masks them and
 * `scrubSecrets` removes them from messages written by the NATS client.
 */
import fs from 'node:fs';
import {
  type Authenticator,
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
} from '@nats-io/transport-node';
import { InvalidArgumentError } from '../../core/index.js';

export interface NatsTlsOptions {
  /** PEM CA bundle the server certificate is verified against. */
  caFile?: string;
  /** PEM client certificate (mutual TLS). Needs `keyFile`. */
  certFile?: string;
  /** PEM private key of `certFile`. */
  keyFile?: string;
}

/** Everything about reaching NATS besides the server address. */
export interface NatsSecurityOptions {
  /** A JWT creds file (`nsc generate creds`) or a file holding one nkey user seed. */
  credsFile?: string;
  /** TLS settings; any of them (or a `tls://` URL) requires TLS. */
  tls?: NatsTlsOptions;
}

/** What `connect()` gets, and the secrets that must never be shown. */
export interface ResolvedNatsOptions {
  options: Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'tls'>;
  /** Passwords and tokens found in the URL: removed from any message shown. */
  secrets: string[];
}

const MASK = '***';

/** The URL with its user, password or token replaced by `***` (comma-separated lists too). */
export function redactNatsUrl(url: string): string {
  return url.replace(/(^|,)(\s*[a-z]+:\/\/)[^@/,]*@/gi, `$1$2${MASK}@`);
}

/** Removes every secret from a message (NATS client errors may quote what they were given). */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  let scrubbed = message;
  for (const secret of secrets) if (secret) scrubbed = scrubbed.split(secret).join(MASK);
  return scrubbed;
}

/**
 * The security options a process got from its environment (how `byzerllm start` hands its flags to
 * the head and node processes, and a way for TS clients to configure them without code).
 */
export function natsSecurityFromEnvironment(
  environment: NodeJS.ProcessEnv = process.env,
): NatsSecurityOptions {
  const tls: NatsTlsOptions = {};
  if (environment.BYZERLLM_NATS_TLS_CA) tls.caFile = environment.BYZERLLM_NATS_TLS_CA;
  if (environment.BYZERLLM_NATS_TLS_CERT) tls.certFile = environment.BYZERLLM_NATS_TLS_CERT;
  if (environment.BYZERLLM_NATS_TLS_KEY) tls.keyFile = environment.BYZERLLM_NATS_TLS_KEY;
  return {
    ...(environment.BYZERLLM_NATS_CREDS ? { credsFile: environment.BYZERLLM_NATS_CREDS } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

/** The environment variables that carry `security` to a child process. */
export function natsSecurityEnvironment(security: NatsSecurityOptions): Record<string, string> {
  const environment: Record<string, string> = {};
  if (security.credsFile) environment.BYZERLLM_NATS_CREDS = security.credsFile;
  if (security.tls?.caFile) environment.BYZERLLM_NATS_TLS_CA = security.tls.caFile;
  if (security.tls?.certFile) environment.BYZERLLM_NATS_TLS_CERT = security.tls.certFile;
  if (security.tls?.keyFile) environment.BYZERLLM_NATS_TLS_KEY = security.tls.keyFile;
  return environment;
}

interface ParsedServer {
  server: string;
  tls: boolean;
  user?: string;
  pass?: string;
}

function parseServer(text: string): ParsedServer {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new InvalidArgumentError(
      `invalid NATS address ${JSON.stringify(redactNatsUrl(trimmed))}; allowed: nats://[user:password@|token@]HOST[:PORT] or tls://…`,
    );
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
    throw new InvalidArgumentError(
      `invalid NATS address ${JSON.stringify(redactNatsUrl(trimmed))}: the scheme must be nats:// or tls://`,
    );
  }
  const server = `nats://${url.host}`;
  const parsed: ParsedServer = { server, tls: url.protocol === 'tls:' };
  if (url.username) parsed.user = decodeURIComponent(url.username);
  if (url.password) parsed.pass = decodeURIComponent(url.password);
  return parsed;
}

function readCredentials(credsFile: string): Authenticator {
  let content: Uint8Array;
  try {
    content = fs.readFileSync(credsFile);
  } catch (error) {
    throw new InvalidArgumentError(
      `cannot read the NATS credentials file ${credsFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
  const text = Buffer.from(content).toString('utf8');
  if (/-{3,}BEGIN NATS USER JWT-{3,}/.test(text)) return credsAuthenticator(content);
  const seed = text.trim();
  if (/^SU[A-Z2-7]{56}$/.test(seed)) return nkeyAuthenticator(new TextEncoder().encode(seed));
  throw new InvalidArgumentError(
    `the NATS credentials file ${credsFile} holds neither a JWT creds file (nsc generate creds) nor an nkey user seed (SU…)`,
  );
}

function checkTlsFiles(tls: NatsTlsOptions): void {
  if (tls.certFile && !tls.keyFile) {
    throw new InvalidArgumentError(
      '--nats_tls_cert needs --nats_tls_key (the private key of the certificate)',
    );
  }
  if (tls.keyFile && !tls.certFile) {
    throw new InvalidArgumentError('--nats_tls_key needs --nats_tls_cert (the client certificate)');
  }
  for (const file of [tls.caFile, tls.certFile, tls.keyFile]) {
    if (file && !fs.existsSync(file)) throw new InvalidArgumentError(`the TLS file ${file} does not exist`);
  }
}

/**
 * Turns an address and the security options into `connect()` options. Credentials are taken out of
 * the URL (the NATS client would otherwise send them as part of the server name and quote them in
 * errors): the first `user:password@` or `token@` found is used.
 */
export function resolveNatsOptions(url: string, security: NatsSecurityOptions = {}): ResolvedNatsOptions {
  const servers = url
    .split(',')
    .filter((part) => part.trim() !== '')
    .map(parseServer);
  if (servers.length === 0)
    throw new InvalidArgumentError('the NATS address is empty; expected nats://HOST:4222');
  const options: ResolvedNatsOptions['options'] = { servers: servers.map((server) => server.server) };
  const secrets: string[] = [];
  const withCredentials = servers.find((server) => server.user !== undefined);
  if (withCredentials?.pass !== undefined) {
    options.user = withCredentials.user!;
    options.pass = withCredentials.pass;
    secrets.push(withCredentials.pass);
  } else if (withCredentials?.user !== undefined) {
    options.token = withCredentials.user;
    secrets.push(withCredentials.user);
  }
  if (security.credsFile) options.authenticator = readCredentials(security.credsFile);
  const tls = security.tls ?? {};
  if (servers.some((server) => server.tls) || Object.keys(tls).length > 0) {
    checkTlsFiles(tls);
    options.tls = {
      ...(tls.caFile ? { caFile: tls.caFile } : {}),
      ...(tls.certFile ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
    };
  }
  return { options, secrets };
}
