import type { Command } from 'commander';
import { findRunningHead, HeadClient, isProcessAlive, resolveStateDirectory } from '../../cluster/index.js';
import { TimeoutError } from '../../core/index.js';
import { connect } from '../connect.js';
import { formatTable } from './list.js';

export function registerHeadCommands(program: Command): void {
  program
    .command('start')
    .description(
      'start the head (the embedded control plane) in the background; state in $BYZERLLM_HOME or ~/.byzerllm',
    )
    .option(
      '--foreground',
      'run the head in this process (for systemd, containers) instead of the background',
      false,
    )
    .action(async (flags: { foreground?: boolean }) => {
      if (flags.foreground) {
        await import('../head-main.js');
        return;
      }
      const already = await findRunningHead(resolveStateDirectory());
      const cluster = await connect({ address: 'auto' }, { onStarting: () => {} });
      await cluster.close();
      const head = (await findRunningHead(resolveStateDirectory()))!;
      process.stdout.write(
        already
          ? `head already running at ${head.address} (pid ${head.pid})\n`
          : `head started at ${head.address} (pid ${head.pid}); logs in ${resolveStateDirectory()}/logs/head.log\n`,
      );
    });

  program
    .command('stop')
    .description('stop the head and every worker; deployments come back on the next start')
    .action(async () => {
      const stateDirectory = resolveStateDirectory();
      const head = await findRunningHead(stateDirectory);
      if (!head) {
        process.stdout.write(`no head is running (state in ${stateDirectory})\n`);
        return;
      }
      const client = new HeadClient({ address: head.address, token: head.token });
      try {
        await client.shutdown();
      } finally {
        await client.close();
      }
      const deadline = Date.now() + 30_000;
      while (isProcessAlive(head.pid)) {
        if (Date.now() > deadline)
          throw new TimeoutError(`the head (pid ${head.pid}) did not stop within 30s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      process.stdout.write(`head stopped (pid ${head.pid})\n`);
    });

  program
    .command('status')
    .description('show the head, its nodes with their resources, and the deployments with their workers')
    .option('--json', 'print JSON', false)
    .action(async (flags: { json?: boolean }) => {
      const stateDirectory = resolveStateDirectory();
      const head = await findRunningHead(stateDirectory);
      if (!head) {
        process.stdout.write(
          `no head is running (state in ${stateDirectory}); \`byzerllm start\` starts one\n`,
        );
        return;
      }
      const client = new HeadClient({ address: head.address, token: head.token });
      try {
        const status = await client.status();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `head ${status.head.address} pid ${status.head.pid} version ${status.version} since ${status.head.startedAt}\n` +
            `state ${status.head.stateDirectory}\n\n`,
        );
        process.stdout.write(
          formatTable(
            ['NODE', 'CPUS', 'CPUS USED', 'MEMORY', 'GPUS'],
            status.nodes.map((node) => [
              node.id,
              String(node.resources.cpus),
              node.cpusUsed.toFixed(2),
              `${(node.resources.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
              String(node.resources.gpus.length),
            ]),
          ),
        );
        const rows = status.deployments.flatMap((deployment) =>
          deployment.workers.length === 0
            ? [[deployment.name, '-', '-', deployment.state]]
            : deployment.workers.map((worker) => [
                deployment.name,
                worker.id,
                worker.node + (worker.pid ? ` pid ${worker.pid}` : ''),
                deployment.state,
              ]),
        );
        process.stdout.write(`\n${formatTable(['DEPLOYMENT', 'WORKER', 'WHERE', 'STATE'], rows)}`);
      } finally {
        await client.close();
      }
    });
}
