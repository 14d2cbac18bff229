/**
 * Option declarations shared by several commands, and value parsers that name the bad value.
 */
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import {
  type NatsSecurityOptions,
  type NatsTlsOptions,
  natsSecurityFromEnvironment,
} from '../cluster/index.js';

export function addAddressOptions(command: Command): Command {
  return addNatsSecurityOptions(
    command.addOption(
      new Option(
        '--address <address>',
        'the cluster to use: auto (the local head, started if needed), http://HOST:PORT or nats://[user:password@|token@]HOST:4222',
      ),
    ),
  )
    .addOption(
      new Option('--ray_address <address>', 'same as --address (kept for Byzer-LLM scripts)').hideHelp(false),
    )
    .option(
      '--file <config.yaml>',
      'read flags from a YAML file; a value "ENV {{VAR}}" is taken from the environment',
    );
}

/** The NATS connection flags (credentials file, TLS) of every command that reaches a cluster. */
export interface NatsSecurityFlags {
  nats_creds?: string;
  nats_tls_ca?: string;
  nats_tls_cert?: string;
  nats_tls_key?: string;
}

export function addNatsSecurityOptions(command: Command): Command {
  return command
    .option(
      '--nats_creds <file>',
      'NATS credentials: a JWT creds file (nsc) or an nkey seed file (default: $BYZERLLM_NATS_CREDS)',
    )
    .option(
      '--nats_tls_ca <file>',
      'verify the NATS server against this PEM CA (default: $BYZERLLM_NATS_TLS_CA)',
    )
    .option('--nats_tls_cert <file>', 'client certificate for NATS TLS (default: $BYZERLLM_NATS_TLS_CERT)')
    .option('--nats_tls_key <file>', 'private key of --nats_tls_cert (default: $BYZERLLM_NATS_TLS_KEY)');
}

/** The NATS security options from the flags, falling back to the environment for each. */
export function natsSecurityFromFlags(flags: NatsSecurityFlags): NatsSecurityOptions {
  const fromEnvironment = natsSecurityFromEnvironment();
  const tls: NatsTlsOptions = { ...fromEnvironment.tls };
  if (flags.nats_tls_ca) tls.caFile = flags.nats_tls_ca;
  if (flags.nats_tls_cert) tls.certFile = flags.nats_tls_cert;
  if (flags.nats_tls_key) tls.keyFile = flags.nats_tls_key;
  const credsFile = flags.nats_creds ?? fromEnvironment.credsFile;
  return { ...(credsFile ? { credsFile } : {}), ...(Object.keys(tls).length > 0 ? { tls } : {}) };
}

export function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new CommanderArgumentError(`${JSON.stringify(value)} is not a positive integer`);
  }
  return parsed;
}

export function parseNonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new CommanderArgumentError(`${JSON.stringify(value)} is not a whole number >= 0`);
  }
  return parsed;
}

export function parseNonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) {
    throw new CommanderArgumentError(`${JSON.stringify(value)} is not a number >= 0`);
  }
  return parsed;
}
