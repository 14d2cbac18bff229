/**
 * Option declarations shared by several commands, and value parsers that name the bad value.
 */
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';

export function addAddressOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--address <address>',
        'the cluster to use: auto (the local head, started if needed) or http://HOST:PORT',
      ),
    )
    .addOption(
      new Option('--ray_address <address>', 'same as --address (kept for Byzer-LLM scripts)').hideHelp(false),
    )
    .option(
      '--file <config.yaml>',
      'read flags from a YAML file; a value "ENV {{VAR}}" is taken from the environment',
    );
}

export function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new CommanderArgumentError(`${JSON.stringify(value)} is not a positive integer`);
  }
  return parsed;
}

export function parseNonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new CommanderArgumentError(`${JSON.stringify(value)} is not a whole number >= 0`);
  }
  return parsed;
}

export function parseNonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) {
    throw new CommanderArgumentError(`${JSON.stringify(value)} is not a number >= 0`);
  }
  return parsed;
}
