/**
 * `byzerllm jobs list|show|logs|stop|resume|rm|plot`: training jobs under `$BYZERLLM_HOME/jobs`, or
 * with `--address` the jobs a cluster's head placed (remote-jobs.ts).
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import type { PlacedJobRecord } from '../../cluster/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import {
  getTrainingJob,
  type JobRecord,
  listTrainingJobs,
  readTrainingProgress,
  removeTrainingJob,
  renderLineChart,
  resumeTrainingJob,
  stopTrainingJob,
} from '../../train/index.js';
import { describeNodes, followRemoteJob, onJobsHost, type RemoteFlags } from '../remote-jobs.js';
import { formatTable, printJsonOrEmpty } from '../table-output.js';
import { followWithProgressBar } from './train.js';

const ADDRESS_HELP = 'the NATS cluster whose head placed the job (default: jobs on this machine)';

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('training jobs: list, show, logs, stop, resume, rm, plot');
  jobs
    .command('list')
    .description('every training job with its status and last step')
    .option('--json', 'print JSON', false)
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (flags: { json?: boolean } & RemoteFlags) => {
      const records: JobRecord[] = await onJobsHost(
        flags,
        async (client) => (await client.listTrainingJobs()) as unknown as JobRecord[],
        listTrainingJobs,
      );
      if (
        printJsonOrEmpty(records, flags.json, 'no training jobs; start one with `byzerllm finetune --help`')
      ) {
        return;
      }
      const rows = records.map((record) => [
        record.name,
        record.kind,
        record.status + (record.reason ? `: ${record.reason}` : ''),
        record.lastStep ? `${record.lastStep.step}/${record.lastStep.totalSteps}` : '-',
        record.lastStep?.loss === undefined || record.lastStep.loss === null
          ? '-'
          : record.lastStep.loss.toFixed(4),
      ]);
      process.stdout.write(formatTable(['NAME', 'KIND', 'STATUS', 'STEP', 'LOSS'], rows));
    });
  jobs
    .command('show <name>')
    .description('the job record as JSON: options, status, reason, outputs, deployment')
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (name: string, flags: RemoteFlags) => {
      const record = await onJobsHost<PlacedJobRecord | JobRecord>(
        flags,
        (client) => client.getTrainingJob(name),
        () => getTrainingJob(name),
      );
      process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    });
  jobs
    .command('logs <name>')
    .description(
      'progress events as JSON lines (step, epoch, loss, eval_loss, lr, tokens_per_second, eta_seconds)',
    )
    .option('--follow', 'keep printing until the job ends', false)
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (name: string, flags: { follow?: boolean } & RemoteFlags) => {
      await onJobsHost(
        flags,
        async (client) => {
          if (flags.follow) await followRemoteJob(client, name);
          else
            for (const event of await client.readTrainingProgress(name))
              process.stdout.write(`${JSON.stringify(event)}\n`);
        },
        async () => {
          const events = await readTrainingProgress(name);
          for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
          if (flags.follow) await followWithProgressBar(name, { from: events.length });
        },
      );
    });
  jobs
    .command('stop <name>')
    .description('stop a running job (its checkpoints stay; resume continues from the newest)')
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (name: string, flags: RemoteFlags) => {
      const record = await onJobsHost<PlacedJobRecord | JobRecord>(
        flags,
        (client) => client.stopTrainingJob(name),
        () => stopTrainingJob(name),
      );
      process.stdout.write(`job ${name} is ${record.status}\n`);
    });
  jobs
    .command('resume <name>')
    .description('start a failed or stopped job again from its newest checkpoint (on the nodes it ran on)')
    .option('--follow', 'show progress until the job ends', false)
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (name: string, flags: { follow?: boolean } & RemoteFlags) => {
      await onJobsHost(
        flags,
        async (client) => {
          const before = (await client.readTrainingProgress(name)).length;
          const record = await client.resumeTrainingJob(name);
          process.stdout.write(`resumed training job ${record.name} on ${describeNodes(record)}\n`);
          if (flags.follow) await followRemoteJob(client, name, before);
        },
        async () => {
          const before = (await readTrainingProgress(name)).length;
          const record = await resumeTrainingJob(name);
          process.stdout.write(`resumed training job ${record.name} (attempt ${record.attempts})\n`);
          if (flags.follow) await followWithProgressBar(name, { from: before });
        },
      );
    });
  jobs
    .command('rm <name>')
    .description("delete a job's folder (the model it registered under models/ stays)")
    .option(
      '--force',
      'stop the job first if it is running (with --address: also forget a job whose node is gone)',
      false,
    )
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (name: string, flags: { force?: boolean } & RemoteFlags) => {
      const force = flags.force === true;
      const message = await onJobsHost(
        flags,
        async (client) => {
          const removed = await client.removeTrainingJob(name, force);
          const files = removed.nodes.map((each) => `its files on node ${each.node}: ${each.files}`);
          return `removed job ${name} (${files.join('; ')})`;
        },
        async () => {
          await removeTrainingJob(name, { force });
          return `removed job ${name}`;
        },
      );
      process.stdout.write(`${message}\n`);
    });
  jobs
    .command('plot <name>')
    .description('draw the loss curve (blue) and eval loss (red dots) as a PNG')
    .requiredOption('--output <file.png>', 'where to write the image (on this machine)')
    .option('--address <nats://host:port>', ADDRESS_HELP)
    .action(async (name: string, flags: { output: string } & RemoteFlags) => {
      const events: Array<Record<string, unknown>> = await onJobsHost(
        flags,
        (client) => client.readTrainingProgress(name),
        () => readTrainingProgress(name),
      );
      const points = (kind: string, key: string) =>
        events
          .filter((event) => event.event === kind && typeof event[key] === 'number')
          .map((event) => ({ x: Number(event.step), y: event[key] as number }));
      const loss = points('step', 'loss');
      if (loss.length === 0) throw new InvalidArgumentError(`job ${name} has no loss to plot yet`);
      const { png, range } = renderLineChart([
        { points: loss, color: [31, 119, 180] },
        { points: points('eval', 'eval_loss'), color: [214, 39, 40], dots: true },
      ]);
      await fs.writeFile(flags.output, png);
      process.stdout.write(
        `wrote ${flags.output}: steps ${range.xMin}-${range.xMax} (x), loss ${range.yMin.toFixed(3)}-${range.yMax.toFixed(3)} (y)\n`,
      );
    });
}
