/**
 * `byzerllm route set|get|list|rm|stat`: routing configs by virtual model name, stored by the head
 * (`routes.json` in its state directory) and used by its gateways (`byzerllm serve`): a request whose
 * `model` names a route goes through it (retries, timeouts, fallbacks, cooldowns) instead of to one
 * deployment.
 */
import fs from 'node:fs/promises';
import { type Command, Option } from 'commander';
import YAML from 'yaml';
import { type ClusterConnection, HeadClient } from '../../cluster/index.js';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../../core/index.js';
import { connect } from '../connect.js';

interface RouteFlags {
  address?: string;
  file?: string;
}

export function registerRoute(program: Command): void {
  const route = program
    .command('route')
    .description('routing configs: a virtual model name over deployments (fallback, loadbalance, …)');
  withAddress(
    route
      .command('set <name>')
      .description('create or replace a route from a YAML or JSON file')
      .requiredOption(
        '--file <route.yaml>',
        'the route config (strategy, targets, …; see docs/governance.md)',
      ),
  ).action(async (name: string, flags: RouteFlags) => {
    const config = await readRouteFile(flags.file!);
    await withRoutes(flags, async (routes) => {
      const { created } = await routes.set(name, config);
      process.stdout.write(`route ${name} ${created ? 'created' : 'replaced'}\n`);
    });
  });
  withAddress(route.command('get <name>').description('print a route config as YAML')).action(
    async (name: string, flags: RouteFlags) =>
      withRoutes(flags, async (routes) => {
        process.stdout.write(YAML.stringify((await routes.get(name)).config));
      }),
  );
  withAddress(route.command('list').description('print every route name and strategy as JSON')).action(
    async (flags: RouteFlags) =>
      withRoutes(flags, async (routes) => {
        const listed = (await routes.list()).map(({ name, config }) => ({
          name,
          strategy: (config as { strategy?: unknown }).strategy,
        }));
        process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
      }),
  );
  withAddress(route.command('rm <name>').description('remove a route')).action(
    async (name: string, flags: RouteFlags) =>
      withRoutes(flags, async (routes) => {
        // Exit code 3 (not found) tells "removed now" from "never there".
        if (!(await routes.remove(name)).removed) {
          throw new NotFoundError(`no route named ${name}; \`byzerllm route list\` shows the routes`);
        }
        process.stdout.write(`route ${name} removed\n`);
      }),
  );
  withAddress(
    route
      .command('stat')
      .description('print each routed deployment as JSON: cooldown, in flight, latency, tries'),
  ).action(async (flags: RouteFlags) =>
    withRoutes(flags, async (routes) => {
      process.stdout.write(`${JSON.stringify(await routes.stat(), null, 2)}\n`);
    }),
  );
}

export function withAddress(command: Command): Command {
  return command.addOption(
    new Option(
      '--address <address>',
      'the head: auto (the local head, started if needed) or http://HOST:PORT',
    ),
  );
}

async function withRoutes(
  flags: RouteFlags,
  run: (routes: HeadClient['routes']) => Promise<void>,
): Promise<void> {
  const cluster: ClusterConnection = await connect(flags);
  try {
    if (!(cluster instanceof HeadClient)) {
      throw new UnsupportedError('routes live on the head: use --address auto or http://HOST:PORT');
    }
    await run(cluster.routes);
  } finally {
    await cluster.close();
  }
}

async function readRouteFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read --file ${file}: ${(error as Error).message}`);
  }
  try {
    return YAML.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(
      `--file ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
}
