/**
 * Option declarations shared by several commands, and value parsers that name the bad value.
 */
import fs from 'node:fs';
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { InvalidArgumentError } from '../core/index.js';
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

/**
 * The NATS security options from the flags, falling back to the environment for each. A file that
 * does not exist is a usage error naming the flag (or variable) and the file, whatever the address:
 * found now rather than when a head started in the background first needs it.
 */
export function natsSecurityFromFlags(flags: NatsSecurityFlags): NatsSecurityOptions {
  const fromEnvironment = natsSecurityFromEnvironment();
  const tls: NatsTlsOptions = { ...fromEnvironment.tls };
  if (flags.nats_tls_ca) tls.caFile = flags.nats_tls_ca;
  if (flags.nats_tls_cert) tls.certFile = flags.nats_tls_cert;
  if (flags.nats_tls_key) tls.keyFile = flags.nats_tls_key;
  const credsFile = flags.nats_creds ?? fromEnvironment.credsFile;
  const files: [string, string | undefined, string | undefined][] = [
    ['--nats_creds', flags.nats_creds, 'BYZERLLM_NATS_CREDS'],
    ['--nats_tls_ca', flags.nats_tls_ca, 'BYZERLLM_NATS_TLS_CA'],
    ['--nats_tls_cert', flags.nats_tls_cert, 'BYZERLLM_NATS_TLS_CERT'],
    ['--nats_tls_key', flags.nats_tls_key, 'BYZERLLM_NATS_TLS_KEY'],
  ];
  for (const [flag, fromFlag, variable] of files) {
    const file = fromFlag ?? process.env[variable!];
    if (!file || fs.existsSync(file)) continue;
    const source = fromFlag ? flag : `$${variable}`;
    throw new InvalidArgumentError(`${source}: the file ${file} does not exist`);
  }
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

/**
 * Every `--snake_case` flag also answers to `--dashed-case` (`--num-workers` = `--num_workers`), as
 * most CLIs spell them. Done once, over the finished program, so flags added by any command get
 * their alias: each alias is a hidden option writing the same attribute with the same parser,
 * choices and variadic behaviour. A command that declares the dashed spelling itself keeps its own.
 */
export function addDashedAliases(command: Command): void {
  for (const option of [...command.options]) {
    const long = option.long;
    if (!long?.includes('_') || option.negate) continue;
    const dashed = long.replace(/_/g, '-');
    if (command.options.some((existing) => existing.long === dashed)) continue;
    // Only the long flag: a short flag (`-p`) belongs to the original.
    const argument = option.flags.slice(option.flags.indexOf(long) + long.length);
    const alias = new AliasOption(`${dashed}${argument}`, option.attributeName());
    alias.hideHelp();
    if (option.parseArg) alias.argParser(option.parseArg);
    if (option.argChoices) alias.choices(option.argChoices);
    command.addOption(alias);
  }
  for (const subcommand of command.commands) addDashedAliases(subcommand);
}

/** An option stored under another option's attribute name. */
class AliasOption extends Option {
  readonly #attribute: string;
  constructor(flags: string, attribute: string) {
    super(flags);
    this.#attribute = attribute;
  }
  override attributeName(): string {
    return this.#attribute;
  }
}
