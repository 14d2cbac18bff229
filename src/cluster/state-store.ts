/**
 * Where the head keeps what must survive a restart: the deployments.
 *
 * `deployments.json` holds each spec with its secret params removed; `secrets.json` (mode 0600, only
 * the user can read it) holds those params. Both are written atomically (temporary file, fsync,
 * rename) so a crash mid-write leaves the previous version, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type DeploymentSpec,
  deploymentSpecSchema,
  InvalidArgumentError,
  isSecretParam,
} from '../core/index.js';

/** `$BYZERLLM_HOME`, else `~/.byzerllm`. */
export function resolveStateDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  const home = environment.BYZERLLM_HOME;
  return home && home.trim() !== '' ? path.resolve(home) : path.join(os.homedir(), '.byzerllm');
}

export interface StateDirectoryCheck {
  /** The user who must own the directory. Defaults to this process's user. */
  uid?: number;
}

/**
 * Creates the state directory (mode 0700) if needed and refuses one that another user could have
 * prepared: it must be a directory owned by this user and not writable by group or others. Whoever
 * can write there can plant a `head.json` pointing at their own server and receive our deploys and
 * keys, or swap `deployments.json`.
 */
export async function ensureStateDirectory(
  directory: string,
  check: StateDirectoryCheck = {},
): Promise<void> {
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  // A link is followed: what matters is who owns and can write the directory it leads to.
  const stat = await fs.stat(directory);
  const fix = `use a directory of your own (BYZERLLM_HOME) or run: chmod 700 ${directory}`;
  if (!stat.isDirectory()) {
    throw new InvalidArgumentError(`state directory ${directory} is not a directory; ${fix}`);
  }
  const uid = check.uid ?? process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new InvalidArgumentError(
      `state directory ${directory} is owned by uid ${stat.uid}, not by you (uid ${uid}); use a directory of your own (BYZERLLM_HOME)`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new InvalidArgumentError(
      `state directory ${directory} is writable by other users (mode ${(stat.mode & 0o777).toString(8)}); ${fix}`,
    );
  }
}

/** `writeFileAtomic`'s temporary names: `<file>.<pid>.<8 hex>.tmp`. */
const TEMPORARY_FILE = /^.+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** The file's text, or `undefined` when it does not exist (any other read error is thrown). */
export async function readFileIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Removes temporary files that a crashed writer left in `directory` (those of live processes are
 * being written and stay). Called when a head or node starts. Returns the names removed.
 */
export async function removeStaleTemporaryFiles(directory: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(directory).catch(() => [] as string[])) {
    const match = TEMPORARY_FILE.exec(name);
    if (!match || isLive(Number(match[1]))) continue;
    await fs.rm(path.join(directory, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function isLive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(temporary, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.chmod(temporary, mode);
  await fs.rename(temporary, file);
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

interface DeploymentsFile {
  version: 1;
  deployments: DeploymentSpec[];
}

interface SecretsFile {
  version: 1;
  secrets: Record<string, Record<string, string>>;
}

export class DeploymentStore {
  readonly deploymentsFile: string;
  readonly secretsFile: string;
  /** Serialises writes so two quick deploys never interleave their read-modify-write. */
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly directory: string) {
    this.deploymentsFile = path.join(directory, 'deployments.json');
    this.secretsFile = path.join(directory, 'secrets.json');
  }

  /** Loads every persisted spec with its secrets put back. Invalid entries are reported, not fatal. */
  async load(): Promise<{ specs: DeploymentSpec[]; problems: string[] }> {
    const deployments = (await readJson(this.deploymentsFile)) as DeploymentsFile | undefined;
    const secrets = ((await readJson(this.secretsFile)) as SecretsFile | undefined)?.secrets ?? {};
    const specs: DeploymentSpec[] = [];
    const problems: string[] = [];
    for (const entry of deployments?.deployments ?? []) {
      const parsed = deploymentSpecSchema.safeParse(entry);
      if (!parsed.success) {
        problems.push(`skipping an invalid deployment in ${this.deploymentsFile}: ${parsed.error.message}`);
        continue;
      }
      const spec = parsed.data;
      spec.inferParams = { ...spec.inferParams, ...(secrets[spec.name] ?? {}) };
      specs.push(spec);
    }
    return { specs, problems };
  }

  /** Persists the full set of deployments (the head's in-memory truth). */
  save(specs: readonly DeploymentSpec[]): Promise<void> {
    const run = async () => {
      const publicSpecs: DeploymentSpec[] = [];
      const secrets: Record<string, Record<string, string>> = {};
      for (const spec of specs) {
        const publicParams: Record<string, string> = {};
        for (const [key, value] of Object.entries(spec.inferParams)) {
          if (!isSecretParam(key, value)) publicParams[key] = value;
          else {
            secrets[spec.name] ??= {};
            secrets[spec.name]![key] = value;
          }
        }
        publicSpecs.push({ ...spec, inferParams: publicParams });
      }
      const deploymentsFile: DeploymentsFile = { version: 1, deployments: publicSpecs };
      const secretsFile: SecretsFile = { version: 1, secrets };
      await writeFileAtomic(this.secretsFile, `${JSON.stringify(secretsFile, null, 2)}\n`, 0o600);
      await writeFileAtomic(this.deploymentsFile, `${JSON.stringify(deploymentsFile, null, 2)}\n`, 0o644);
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}
