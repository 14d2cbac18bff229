/**
 * The `byzerllm` program: every command, and the CLI's one error edge.
 *
 * Commands are thin: they turn flags into library calls. This file is the one error edge of the CLI:
 * every failure prints one line and exits with the code `exit-codes.ts` assigns to its error code.
 */
import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../core/index.js';
import { registerDeploy } from './commands/deploy.js';
import { registerHeadCommands } from './commands/head.js';
import { registerJobs } from './commands/jobs.js';
import { registerList } from './commands/list.js';
import { registerLogs } from './commands/logs.js';
import { registerModelTools } from './commands/model-tools.js';
import { registerPs } from './commands/ps.js';
import { registerQuery } from './commands/query.js';
import { registerServe } from './commands/serve.js';
import { registerConsole } from './commands/console.js';
import { registerSql } from './commands/sql.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerStat } from './commands/stat.js';
import { registerStorage } from './commands/storage.js';
import { registerTrain } from './commands/train.js';
import { registerUndeploy } from './commands/undeploy.js';
import { registerKeys } from './commands/keys.js';
import { registerRoute } from './commands/route.js';
import { setQuiet } from './arguments.js';
import { reportError } from './exit-codes.js';
import { addDashedAliases } from './options.js';

export function createProgram(): Command {
  const program = new Command('byzerllm')
    .description(
      'Deploy, serve and use large language models - SaaS and local - as named instances.\n' +
        'Everything runs in one local head process by default (state in $BYZERLLM_HOME or ~/.byzerllm).\n' +
        'Every --snake_case flag may also be written --dashed-case (--num-workers = --num_workers).',
    )
    .version(PACKAGE_VERSION)
    .option('-q, --quiet', 'no "Command Line Arguments" banner and no progress notes on stderr', false)
    .hook('preAction', (root) => setQuiet(root.opts().quiet === true))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/\n*$/, '\n')) });
  registerHeadCommands(program);
  registerDeploy(program);
  registerUndeploy(program);
  registerQuery(program);
  registerStat(program);
  registerRoute(program);
  registerKeys(program);
  registerList(program);
  registerLogs(program);
  registerPs(program);
  registerServe(program);
  registerConsole(program);
  registerQuickstart(program);
  registerSql(program);
  registerStorage(program);
  registerTrain(program);
  registerJobs(program);
  registerModelTools(program);
  for (const command of program.commands) command.exitOverride().showSuggestionAfterError(true);
  addDashedAliases(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its one-line message (or the help / version).
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error);
  }
}
