/**
 * Connecting to a cluster by address — shared by the CLI, the client library and the server.
 *
 * - `auto` (default): the local head of `$BYZERLLM_HOME` (or `~/.byzerllm`), started if none runs
 *   (Byzer-LLM's `ray_address auto`).
 * - `http://HOST:PORT`: a head's admin API; the token comes from the option or `$BYZERLLM_ADMIN_TOKEN`.
 * - `nats://HOST:PORT`: a cluster whose head runs with `--nats` (from any machine that reaches NATS);
 *   `nats://user:password@…`, `nats://token@…`, `tls://…`, plus `nats` for a creds file and TLS.
 */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../core/index.js';
import type { ClusterApi } from './cluster-api.js';
import { NatsClusterClient } from './nats/nats-cluster-client.js';
import {
  type NatsSecurityOptions,
  natsSecurityFromEnvironment,
  redactNatsUrl,
} from './nats/nats-security.js';
import { HeadClient } from './head/head-client.js';
import { ensureHead } from './head/head-launcher.js';
import { resolveStateDirectory } from './state-store.js';

/**
 * The head process's entry script. The head is composed at the top layer (it hosts the gateway of
 * `src/server` too), so the cluster layer knows it only as a file to run, never as an import.
 */
export const HEAD_ENTRY = fileURLToPath(new URL('../cli/head-main.js', import.meta.url));

export interface ConnectOptions {
  /** `auto` (default), `http://HOST:PORT` or `nats://[credentials@]HOST:PORT`. */
  address?: string;
  /**
   * Credentials file and TLS for a `nats://` address. Defaults to `$BYZERLLM_NATS_CREDS`,
   * `$BYZERLLM_NATS_TLS_CA`, `$BYZERLLM_NATS_TLS_CERT`, `$BYZERLLM_NATS_TLS_KEY`.
   */
  nats?: NatsSecurityOptions;
  /** Admin token for an `http://` address. Defaults to `$BYZERLLM_ADMIN_TOKEN`. */
  token?: string;
  /** Start a local head when none runs (`auto` only). Defaults to true. */
  autoStart?: boolean;
  /** Told when a head is being started. */
  onStarting?: () => void;
  /** Defaults to `$BYZERLLM_HOME` or `~/.byzerllm`. */
  stateDirectory?: string;
}

/** A connected cluster: the API plus `close()` to release the connection. */
export type ClusterConnection = ClusterApi & { close(): Promise<void> };

/** The local head of a state directory (`auto`), started if needed: the embedded default. */
export async function connectLocalHead(
  options: Omit<ConnectOptions, 'address' | 'token'> = {},
): Promise<HeadClient> {
  const head = await ensureHead({
    stateDirectory: options.stateDirectory ?? resolveStateDirectory(),
    entry: HEAD_ENTRY,
    ...(options.autoStart === undefined ? {} : { autoStart: options.autoStart }),
    ...(options.onStarting ? { onStarting: options.onStarting } : {}),
  });
  return new HeadClient({ address: head.address, token: head.token });
}

export async function connectCluster(options: ConnectOptions = {}): Promise<ClusterConnection> {
  const address = options.address ?? 'auto';
  if (address === 'auto') return connectLocalHead(options);
  if (/^https?:\/\//.test(address)) {
    const token = options.token ?? process.env.BYZERLLM_ADMIN_TOKEN;
    if (!token) {
      throw new InvalidArgumentError(
        `address ${address} needs the head's admin token (option token or BYZERLLM_ADMIN_TOKEN); it is in head.json on the head machine`,
      );
    }
    return new HeadClient({ address: address.replace(/\/+$/, ''), token });
  }
  if (/^(nats|tls):\/\//.test(address)) {
    return NatsClusterClient.connect(address, options.nats ?? natsSecurityFromEnvironment());
  }
  throw new InvalidArgumentError(
    `invalid address ${JSON.stringify(redactNatsUrl(address))}; allowed: auto, http://HOST:PORT, nats://HOST:PORT`,
  );
}
