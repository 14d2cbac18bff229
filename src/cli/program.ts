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
import { registerList } from './commands/list.js';
import { registerQuery } from './commands/query.js';
import { registerServe } from './commands/serve.js';
import { registerSql } from './commands/sql.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerStat } from './commands/stat.js';
import { registerUndeploy } from './commands/undeploy.js';
import { reportError } from './exit-codes.js';

export function createProgram(): Command {
  const program = new Command('byzerllm')
    .description(
      'Deploy, serve and use large language models - SaaS and local - as named instances.\n' +
        'Everything runs in one local head process by default (state in $BYZERLLM_HOME or ~/.byzerllm).',
    )
    .version(PACKAGE_VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/\n*$/, '\n')) });
  registerHeadCommands(program);
  registerDeploy(program);
  registerUndeploy(program);
  registerQuery(program);
  registerStat(program);
  registerList(program);
  registerServe(program);
  registerQuickstart(program);
  registerSql(program);
  for (const command of program.commands) command.exitOverride().showSuggestionAfterError(true);
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
