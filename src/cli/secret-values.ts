/**
 * Secrets given without putting them on the command line, where every local user can read them in
 * `ps`: `saas.api_key=env:VAR` takes the value of an environment variable of this command, `-` reads
 * it from stdin (`echo "$KEY" | byzerllm deploy … --infer_params saas.api_key=-`), and `serve` also
 * takes `--api_key_file FILE`. Only secret params are resolved this way; other values are literal.
 */
import fs from 'node:fs/promises';
import { InvalidArgumentError, isSecretParam } from '../core/index.js';

export interface SecretSources {
  environment?: NodeJS.ProcessEnv;
  /** Reads all of stdin. Defaults to the process's stdin. */
  readStdin?: () => Promise<string>;
}

/** Resolves one secret value given as `env:VAR`, `-` (stdin) or literally. `what` names it in errors. */
export async function resolveSecretValue(
  what: string,
  value: string,
  sources: SecretSources & { stdinUsed?: { by?: string } } = {},
): Promise<string> {
  if (value.startsWith('env:')) {
    const name = value.slice('env:'.length);
    const environment = sources.environment ?? process.env;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InvalidArgumentError(
        `${what}=env:${name}: ${JSON.stringify(name)} is not an environment variable name`,
      );
    }
    const resolved = environment[name];
    if (resolved === undefined || resolved === '') {
      throw new InvalidArgumentError(`${what} names the environment variable ${name}, which is not set`);
    }
    return resolved;
  }
  if (value === '-') {
    if (sources.stdinUsed?.by) {
      throw new InvalidArgumentError(
        `${what} and ${sources.stdinUsed.by} both read stdin (-); only one value can come from stdin`,
      );
    }
    if (sources.stdinUsed) sources.stdinUsed.by = what;
    const text = (await (sources.readStdin ?? readStandardInput)()).replace(/\r?\n$/, '');
    if (text === '') throw new InvalidArgumentError(`${what}=- read nothing from stdin`);
    return text;
  }
  return value;
}

/** The params with every secret param given as `env:VAR` or `-` replaced by its value. */
export async function resolveSecretParams(
  params: Record<string, string>,
  sources: SecretSources = {},
): Promise<Record<string, string>> {
  const resolved: Record<string, string> = {};
  const stdinUsed: { by?: string } = {};
  for (const [key, value] of Object.entries(params)) {
    resolved[key] = isSecretParam(key)
      ? await resolveSecretValue(key, value, { ...sources, stdinUsed })
      : value;
  }
  return resolved;
}

/** The first line of a key file (`--api_key_file`), which must not be empty. */
export async function readSecretFile(what: string, file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(
      `cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const key = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (key === '') throw new InvalidArgumentError(`${what} ${file} is empty; put the key on its first line`);
  return key;
}

async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
