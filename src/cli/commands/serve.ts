import path from 'node:path';
import { type Command, Option } from 'commander';
import {
  type AccessGate,
  type ClusterApi,
  createRoutedCluster,
  type GatewayStartOptions,
  HeadClient,
  NatsClusterClient,
} from '../../cluster/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { startOpenAIServer } from '../../server/index.js';
import { createPredictHandler } from '../../sql/index.js';
import { mergeConfigFile } from '../arguments.js';
import { connect } from '../connect.js';
import { holdUntilStopped } from '../hold-attached.js';
import { addAddressOptions, parseNonNegativeInteger } from '../options.js';
import { readSecretFile, resolveSecretValue } from '../secret-values.js';

interface ServeFlags {
  host: string;
  port: number;
  api_key?: string;
  api_key_file?: string;
  served_model_name?: string;
  allowed_origins?: string[];
  ssl_keyfile?: string;
  ssl_certfile?: string;
  address?: string;
  ray_address?: string;
  file?: string;
  template?: string;
  prompt_template?: string;
  response_role?: string;
  uvicorn_log_level?: string;
}

/**
 * Byzer-LLM `serve` flags accepted so its documented commands run as written. None changes the
 * gateway, so each one given says so on stderr (naming the flag) instead of being silently dropped.
 */
const COMPATIBILITY_FLAGS: Record<
  'template' | 'prompt_template' | 'response_role' | 'uvicorn_log_level',
  { ignoredWhen: (value: string) => boolean; why: string }
> = {
  template: {
    ignoredWhen: (value) => value !== 'auto',
    why: 'the gateway sends chat messages and each deployment formats them itself; set a client-side template with `byzerllm deploy --template`',
  },
  prompt_template: {
    ignoredWhen: (value) => value !== '' && value !== 'auto',
    why: 'the gateway sends chat messages and each deployment formats them itself; set a client-side template with `byzerllm deploy --template`',
  },
  response_role: {
    ignoredWhen: (value) => value !== 'assistant',
    why: 'answers always carry the role "assistant", as the OpenAI API defines',
  },
  uvicorn_log_level: {
    ignoredWhen: () => true,
    why: 'there is no uvicorn: the gateway runs in the head process, whose log is <BYZERLLM_HOME>/logs/head.log',
  },
};

function warnCompatibilityFlags(flags: ServeFlags): void {
  for (const [name, rule] of Object.entries(COMPATIBILITY_FLAGS)) {
    const value = flags[name as keyof typeof COMPATIBILITY_FLAGS];
    if (value !== undefined && rule.ignoredWhen(String(value))) {
      process.stderr.write(
        `warning: --${name} ${value} is accepted for Byzer-LLM compatibility and ignored: ${rule.why}\n`,
      );
    }
  }
}

/**
 * `byzerllm serve`: asks the head to open an OpenAI-compatible gateway in its own process, prints the
 * URL and stays in the foreground. Ctrl+C, SIGTERM or this process dying closes the gateway (the head
 * stops it when our attach request ends).
 */
/** The keys a `--file` config may set: the command's own flags, snake_case as on the command line. */
const CONFIG_KEYS = [
  'host',
  'port',
  'api_key',
  'api_key_file',
  'served_model_name',
  'allowed_origins',
  'ssl_keyfile',
  'ssl_certfile',
  'template',
  'prompt_template',
  'response_role',
  'uvicorn_log_level',
  'address',
  'ray_address',
];

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('serve every deployment through an OpenAI-compatible API (/v1/chat/completions, …)')
    .option('--host <host>', 'the interface to listen on', '127.0.0.1')
    .option('--port <port>', 'the port to listen on (0 = any free port)', parseNonNegativeInteger, 8000)
    .option(
      '--api_key <key>',
      'require Authorization: Bearer <key> (default: $BYZERLLM_API_KEY); env:VAR or - (stdin) keeps it out of `ps`',
    )
    .option('--api_key_file <file>', 'read the API key from the first line of this file')
    .option('--served_model_name <name>', 'the deployment for requests that name no model')
    .option(
      '--allowed_origins <origins...>',
      'CORS origins allowed to call the API (* for any); comma or space separated',
    )
    .option('--ssl_keyfile <path>', 'serve HTTPS with this PEM private key')
    .option('--ssl_certfile <path>', 'serve HTTPS with this PEM certificate')
    .option('--template <name>', 'Byzer-LLM compatibility; ignored with a warning (use deploy --template)')
    .option('--prompt_template <name>', 'Byzer-LLM compatibility; ignored with a warning')
    .option('--response_role <role>', 'Byzer-LLM compatibility; answers use "assistant" (other values warn)')
    .addOption(
      new Option('--uvicorn_log_level <level>', 'Byzer-LLM compatibility; ignored with a warning').choices([
        'critical',
        'error',
        'warning',
        'info',
        'debug',
        'trace',
      ]),
    );
  addAddressOptions(command).action(async (flags: ServeFlags) => {
    const merged: ServeFlags = await mergeConfigFile(flags, CONFIG_KEYS);
    warnCompatibilityFlags(merged);
    const apiKey = await gatewayApiKey(merged);
    const options: GatewayStartOptions = { host: merged.host, port: Number(merged.port) };
    if (apiKey) options.apiKey = apiKey;
    if (merged.served_model_name) options.servedModelName = merged.served_model_name;
    const origins = [merged.allowed_origins ?? []]
      .flat()
      .flatMap((value) => String(value).split(','))
      .map((value) => value.trim())
      .filter(Boolean);
    if (origins.length > 0) options.allowedOrigins = origins;
    // The head has its own working directory: hand it absolute paths.
    if (merged.ssl_keyfile) options.sslKeyFile = path.resolve(merged.ssl_keyfile);
    if (merged.ssl_certfile) options.sslCertFile = path.resolve(merged.ssl_certfile);

    const cluster = await connect(merged);
    try {
      // A local or HTTP head hosts the gateway in its own process (no extra hop). A cluster reached
      // over NATS from another machine is served from this process, over the NATS connection.
      const gateway =
        cluster instanceof HeadClient
          ? await cluster.openGateway(options)
          : await serveHere(cluster, options);
      process.stdout.write(
        `byzerllm serve: OpenAI-compatible API at ${gateway.address}/v1${apiKey ? ' (API key required)' : ''}; Ctrl+C stops it\n`,
      );
      await holdUntilStopped(gateway, 'gateway');
      process.stdout.write('byzerllm serve: stopped\n');
    } finally {
      await cluster.close().catch(() => {});
    }
  });
}

/** `--api_key` (literal, env:VAR or - for stdin), else `--api_key_file`, else `$BYZERLLM_API_KEY`. */
export async function gatewayApiKey(
  flags: Pick<ServeFlags, 'api_key' | 'api_key_file'>,
): Promise<string | undefined> {
  if (flags.api_key !== undefined && flags.api_key_file !== undefined) {
    throw new InvalidArgumentError('give either --api_key or --api_key_file, not both');
  }
  if (flags.api_key !== undefined) return resolveSecretValue('--api_key', String(flags.api_key));
  if (flags.api_key_file !== undefined) return readSecretFile('--api_key_file', String(flags.api_key_file));
  return process.env.BYZERLLM_API_KEY || undefined;
}

/** Runs the gateway in this process over any cluster connection. */
async function serveHere(
  cluster: ClusterApi,
  options: GatewayStartOptions,
): Promise<{ address: string; closed: Promise<void>; close(): Promise<void> }> {
  // Keys and limits are counted by the head, for every gateway at once (see `NatsAccessGate`);
  // routes and cooldowns are the head's too, response caches in JetStream KV (see `NatsGovernance`).
  const nats = cluster instanceof NatsClusterClient ? cluster : undefined;
  const log = (line: string) => process.stderr.write(`byzerllm serve: ${line}\n`);
  const gate = nats ? await nats.openAccessGate(log) : undefined;
  const shared = nats ? await nats.openGovernance(log) : undefined;
  const routed = shared ? createRoutedCluster(cluster, shared.governance) : cluster;
  const server = await startOpenAIServer({
    cluster: routed,
    // SQL over rows calls routes by name too (the mirror of the head's), as `byzerllm sql` does.
    predict: createPredictHandler(routed),
    ...options,
    ...(gate ? { gate: gate satisfies AccessGate } : {}),
    ...(shared ? { governance: shared.governance } : {}),
  });
  return {
    address: server.address,
    closed: new Promise<void>(() => {}),
    close: async () => {
      await server.close();
      gate?.close();
      shared?.close();
    },
  };
}
