/**
 * Argument handling shared by the commands: `--infer_params k=v …`, `--file config.yaml` with
 * `ENV {{VAR}}` values, and the "Command Line Arguments:" banner with secrets masked.
 */
import fs from 'node:fs/promises';
import { parse as shellParse } from 'shell-quote';
import YAML from 'yaml';
import { InvalidArgumentError, isSecretParam, maskSecrets } from '../core/index.js';
import { redactNatsUrl } from '../cluster/index.js';

/**
 * Parses `--infer_params` tokens. Each token may itself hold several `k=v` pairs separated by spaces
 * (a quoted string), values may be quoted (`saas.base_url="https://…"`); each pair splits at its first
 * `=`. All values stay strings.
 */
export function parseInferParams(tokens: readonly string[] | string | undefined): Record<string, string> {
  const list = tokens === undefined ? [] : typeof tokens === 'string' ? [tokens] : tokens;
  const params: Record<string, string> = {};
  for (const token of list) {
    for (const piece of shellParse(token)) {
      if (typeof piece !== 'string') {
        throw new InvalidArgumentError(
          `malformed --infer_params ${JSON.stringify(token)}: shell operators are not allowed; quote the value`,
        );
      }
      const equals = piece.indexOf('=');
      if (equals <= 0) {
        throw new InvalidArgumentError(
          `malformed --infer_params entry ${JSON.stringify(piece)}: expected key=value, e.g. saas.model=gpt-4o`,
        );
      }
      params[piece.slice(0, equals)] = piece.slice(equals + 1);
    }
  }
  return params;
}

/**
 * Reads a `--file` YAML: a mapping of flag names (snake_case, as on the command line) to values.
 * In a string value starting with `ENV`, each `{{NAME}}` is replaced by that environment variable:
 * `api_key: ENV {{OPENAI_KEY}}`. Values nested in an `infer_params` mapping get the same treatment
 * (the original did not, which made keys in config files impossible to keep out of the file).
 * Byzer-LLM rendered these values with a template engine, so a config file could run code; here
 * only variable names are allowed, and a missing variable is an error naming it.
 */
export async function readConfigFile(
  file: string,
  allowedKeys: readonly string[],
  environment: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read --file ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = YAML.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(
      `--file ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new InvalidArgumentError(`--file ${file} must hold a mapping of flag names to values`);
  }
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    if (key === 'file') continue;
    if (!allowedKeys.includes(key)) {
      throw new InvalidArgumentError(
        `unknown key ${key} in --file ${file}; allowed: ${allowedKeys.join(', ')}`,
      );
    }
    result[key] = renderEnvironmentValues(value, environment);
  }
  return result;
}

/**
 * The flags of a command with its `--file` config (when given) laid over them: a key in the file
 * wins over the same flag on the command line, as in Byzer-LLM. Every command with `--file` goes
 * through here so that the precedence is the same everywhere.
 */
export async function mergeConfigFile<Flags extends { file?: string }>(
  flags: Flags,
  allowedKeys: readonly string[],
): Promise<Flags> {
  if (!flags.file) return flags;
  return { ...flags, ...(await readConfigFile(flags.file, allowedKeys)) };
}

/** `{{NAME}}` with optional spaces; anything else between braces is refused. */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Substitutes `{{NAME}}` placeholders of an `ENV …` value from the environment. Nothing else. */
export function substituteEnvironment(text: string, environment: NodeJS.ProcessEnv): string {
  if (/\{\{|\}\}|\{%|%\}/.test(text.replace(PLACEHOLDER, ''))) {
    // Left-over template syntax (an unclosed {{, a {% tag %}) would be a silent surprise: refuse it.
    throw new InvalidArgumentError(
      `ENV value ${JSON.stringify(text)} holds template syntax; only {{NAME}} placeholders are allowed`,
    );
  }
  const substituted = text.replace(PLACEHOLDER, (_placeholder, name: string) => {
    if (!VARIABLE_NAME.test(name)) {
      throw new InvalidArgumentError(
        `ENV value ${JSON.stringify(text)}: {{${name}}} is not an environment variable name; only {{NAME}} with letters, digits and _ is allowed`,
      );
    }
    const value = environment[name];
    if (value === undefined) {
      throw new InvalidArgumentError(`ENV value needs the environment variable ${name}, which is not set`);
    }
    return value;
  });
  return substituted;
}

function renderEnvironmentValues(value: unknown, environment: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string' && value.startsWith('ENV')) {
    return substituteEnvironment(value.slice(3).trim(), environment);
  }
  if (Array.isArray(value)) return value.map((item) => renderEnvironmentValues(item, environment));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, renderEnvironmentValues(inner, environment)]),
    );
  }
  return value;
}

/** `infer_params` from a config file may be a mapping, a list of `k=v` or one string. */
export function inferParamsFromConfig(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') return parseInferParams(value);
  if (Array.isArray(value)) return parseInferParams(value.map(String));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, String(inner)]));
  }
  throw new InvalidArgumentError(`infer_params in --file must be a mapping or a list of key=value`);
}

let quiet = false;

/** `--quiet`: set once by the program before a command runs. */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** Whether notes meant for a person watching (banner, progress) are left out. */
export function isQuiet(): boolean {
  return quiet;
}

/**
 * Byzer-LLM's banner, to stderr so stdout stays the command's result. Secrets never appear.
 * Left out under `--quiet`.
 */
export function printArgumentsBanner(
  values: Record<string, unknown>,
  write = (text: string) => process.stderr.write(text),
) {
  if (quiet) return;
  const lines = ['Command Line Arguments:', '-'.repeat(50)];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    let shown = value;
    if (name === 'infer_params' && value && typeof value === 'object') {
      shown = maskSecrets(value as Record<string, string>);
    } else if (isSecretParam(name) && typeof value === 'string') {
      shown = '******';
    } else if (typeof value === 'string' && /^(nats|tls):\/\//.test(value)) {
      shown = redactNatsUrl(value); // user:password@ or token@ in a cluster address
    }
    lines.push(`${name.padEnd(20)}: ${typeof shown === 'string' ? shown : JSON.stringify(shown)}`);
  }
  lines.push('-'.repeat(50));
  write(`${lines.join('\n')}\n`);
}
