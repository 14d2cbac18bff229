import type { Command } from 'commander';
import { connect } from '../connect.js';
import { addAddressOptions } from '../options.js';

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
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(deployments, null, 2)}\n`);
          return;
        }
        if (deployments.length === 0) {
          process.stdout.write('no deployments; create one with `byzerllm deploy --help`\n');
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

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
