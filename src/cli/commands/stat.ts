import type { Command } from 'commander';
import { type ClusterConnection, HeadClient } from '../../cluster/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { mergeConfigFile } from '../arguments.js';
import { connect } from '../connect.js';
import { message } from '../messages.js';
import { addAddressOptions, parseNonNegativeInteger } from '../options.js';
import { renderPanel } from '../panel.js';

interface StatFlags {
  model?: string;
  interval?: number;
  address?: string;
  ray_address?: string;
  file?: string;
}

export function registerStat(program: Command): void {
  const command = program
    .command('stat')
    .description(
      'print the worker-pool state of a deployment: JSON for scripts, the "Model Stat" panel on a terminal',
    )
    .option('--model <name>', 'the deployment (required)')
    .option(
      '--interval <seconds>',
      'print again every N seconds until Ctrl+C (0 = once)',
      parseNonNegativeInteger,
      0,
    );
  addAddressOptions(command).action(async (flags: StatFlags) => {
    const merged: StatFlags = await mergeConfigFile(flags, ['model', 'interval', 'address', 'ray_address']);
    if (!merged.model) throw new InvalidArgumentError('missing --model: the deployment to inspect');
    const model = merged.model;
    const cluster = await connect(merged);
    try {
      // Scripts read JSON; a person at a terminal gets Byzer-LLM's titled panel around the same JSON.
      const print = async () => {
        const json = JSON.stringify(await statWithRouting(cluster, model), null, 4);
        process.stdout.write(`${process.stdout.isTTY ? renderPanel(message('statTitle'), json) : json}\n`);
      };
      await print();
      const interval = Number(merged.interval ?? 0);
      if (interval <= 0) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => print().catch(reject), interval * 1000);
        process.once('SIGINT', () => {
          clearInterval(timer);
          process.stdout.write(`${message('statStopped')}\n`);
          resolve();
        });
      });
    } finally {
      await cluster.close();
    }
  });
}

/**
 * The pool state, plus what the head's routes learnt about the deployment (`routing`: cooling
 * down, in flight, latency, tries) once a route has sent to it; heads reached over NATS have none.
 */
async function statWithRouting(cluster: ClusterConnection, model: string): Promise<object> {
  const stat = await cluster.stat(model);
  if (!(cluster instanceof HeadClient)) return stat;
  const { targets } = await cluster.routes.stat();
  const routing = targets.find((target) => target.deployment === model);
  return routing ? { ...stat, routing } : stat;
}
