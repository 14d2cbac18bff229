import type { Command } from 'commander';
import { type GatewayStartOptions, HeadClient, NatsClusterClient } from '../../cluster/index.js';
import { createConsoleJobs, placedJobsOverNats } from '../console-jobs.js';
import { startConsole } from '../../server/index.js';
import { connect } from '../connect.js';
import { holdUntilStopped } from '../hold-attached.js';
import { addAddressOptions, parseNonNegativeInteger } from '../options.js';
import { gatewayApiKey } from './serve.js';

interface ConsoleFlags {
  host: string;
  console_port?: number;
  api_key?: string;
  api_key_file?: string;
  address?: string;
  ray_address?: string;
}

/**
 * `byzerllm console`: asks the head to open the web console in its own process, prints the URL and
 * stays in the foreground like `serve` (Ctrl+C closes the console). A cluster reached over NATS is
 * served from this process instead.
 */
export function registerConsole(program: Command): void {
  const command = program
    .command('console')
    .description('open the web console: cluster, deployments and a chat playground in a browser')
    .option('--host <host>', 'the interface to listen on', '127.0.0.1')
    .option(
      '--console_port <port>',
      "the port to listen on (default: the head's admin port + 1; 0 = any free port)",
      parseNonNegativeInteger,
    )
    .option(
      '--api_key <key>',
      "ask for this key on a login page (default: $BYZERLLM_API_KEY, the gateway's key); env:VAR or - (stdin)",
    )
    .option('--api_key_file <file>', 'read the API key from the first line of this file');
  addAddressOptions(command).action(async (flags: ConsoleFlags) => {
    const apiKey = await gatewayApiKey(flags);
    const cluster = await connect(flags);
    try {
      const port = flags.console_port ?? nextToAdminPort(cluster);
      const options: GatewayStartOptions = { host: flags.host, port, console: true };
      if (apiKey) options.apiKey = apiKey;
      const opened =
        cluster instanceof HeadClient
          ? await cluster.openGateway(options)
          : await startConsole({
              cluster,
              host: flags.host,
              port,
              ...(apiKey ? { apiKey } : {}),
              // The head's training jobs, over NATS; this machine's own jobs/ is not the head's.
              ...(cluster instanceof NatsClusterClient
                ? {
                    features: {
                      jobs: createConsoleJobs({ placed: placedJobsOverNats(cluster), local: false }),
                    },
                  }
                : {}),
            }).then((running) => ({ ...running, closed: new Promise<void>(() => {}) }));
      process.stdout.write(
        `byzerllm console: ${opened.address}/${apiKey ? ' (log in with the API key)' : ''}; Ctrl+C stops it\n`,
      );
      await holdUntilStopped(opened, 'console');
      process.stdout.write('byzerllm console: stopped\n');
    } finally {
      await cluster.close().catch(() => {});
    }
  });
}

/** "Next to the admin port": its port + 1 for a head on this machine; any free port otherwise. */
function nextToAdminPort(cluster: unknown): number {
  if (!(cluster instanceof HeadClient)) return 0;
  const port = Number(new URL(cluster.address).port);
  return port > 0 && port < 65_535 ? port + 1 : 0;
}
