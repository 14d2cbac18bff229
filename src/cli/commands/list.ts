import type { Command } from 'commander';
import { connect } from '../connect.js';
import { addAddressOptions } from '../options.js';
import { formatTable, printJsonOrEmpty } from '../table-output.js';

export function registerList(program: Command): void {
  const command = program
    .command('list')
    .description('list deployments with their type, workers and state (--json for the full records)')
    .option('--json', 'print JSON', false);
  addAddressOptions(command).action(
    async (flags: { json?: boolean; address?: string; ray_address?: string }) => {
      const cluster = await connect(flags);
      try {
        const deployments = await cluster.list();
        if (
          printJsonOrEmpty(
            deployments,
            flags.json,
            'no deployments; create one with `byzerllm deploy --help`',
          )
        ) {
          return;
        }
        const rows = deployments.map((deployment) => [
          deployment.name,
          deployment.pretrainedModelType + (deployment.inferBackend ? ` (${deployment.inferBackend})` : ''),
          `${deployment.numWorkers}×${deployment.workerConcurrency}`,
          deployment.state + (deployment.error ? `: ${deployment.error}` : ''),
        ]);
        process.stdout.write(formatTable(['NAME', 'TYPE', 'WORKERS×SLOTS', 'STATE'], rows));
      } finally {
        await cluster.close();
      }
    },
  );
}
