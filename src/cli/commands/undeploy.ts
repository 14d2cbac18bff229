import type { Command } from 'commander';
import { InvalidArgumentError, NotFoundError } from '../../core/index.js';
import { printArgumentsBanner, mergeConfigFile } from '../arguments.js';
import { chosenAddress, connect } from '../connect.js';
import { message } from '../messages.js';
import { addAddressOptions } from '../options.js';

interface UndeployFlags {
  model?: string;
  force?: boolean;
  json?: boolean;
  address?: string;
  ray_address?: string;
  file?: string;
}

export function registerUndeploy(program: Command): void {
  const command = program
    .command('undeploy')
    .description('stop a deployment and remove it (its workers stop; it does not come back on restart)')
    .option('--model <name>', 'the deployment to remove (required)')
    .option('--force', 'remove it without waiting for in-flight requests', false)
    .option('--json', 'print {"model","removed":true} instead of a sentence', false);
  addAddressOptions(command).action(async (flags: UndeployFlags) => {
    const merged: UndeployFlags = await mergeConfigFile(flags, ['model', 'force', 'address', 'ray_address']);
    printArgumentsBanner({ ...merged, address: chosenAddress(merged) });
    if (!merged.model) throw new InvalidArgumentError('missing --model: the deployment to remove');
    const cluster = await connect(merged);
    try {
      const { removed } = await cluster.undeploy(merged.model, { force: merged.force === true });
      // Exit code 3 (not found), so `undeploy` in a script can tell "gone now" from "never there".
      if (!removed) {
        throw new NotFoundError(
          `no deployment named ${merged.model}; \`byzerllm list\` shows the deployments`,
        );
      }
      process.stdout.write(
        merged.json
          ? `${JSON.stringify({ model: merged.model, removed: true })}\n`
          : `${message('undeployed', merged.model)}\n`,
      );
    } finally {
      await cluster.close();
    }
  });
}
