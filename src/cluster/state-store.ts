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
import { type DeploymentSpec, deploymentSpecSchema, isSecretParam } from '../core/index.js';

/** `$BYZERLLM_HOME`, else `~/.byzerllm`. */
export function resolveStateDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  const home = environment.BYZERLLM_HOME;
  return home && home.trim() !== '' ? path.resolve(home) : path.join(os.homedir(), '.byzerllm');
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
          if (!isSecretParam(key)) publicParams[key] = value;
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
