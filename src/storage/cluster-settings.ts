/**
 * Per-cluster settings of a store: `<directory>/<cluster>.json` (the original kept the same file,
 * `<cluster>.json`, to restore a cluster). It says whether `byzerllm storage start` started the
 * cluster, which deployment embeds its text when a request names none, and — after
 * `storage export` — its tables and row counts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';

export const clusterSettingsSchema = z.object({
  name: z.string(),
  started: z.boolean().default(false),
  startedAt: z.string().optional(),
  /** The embedding deployment of this cluster. Defaults to `emb`. */
  embModel: z.string().min(1).max(256).optional(),
  /** Whether `storage start --enable_emb` deployed `emb` (so `storage stop` undeploys it). */
  embDeployed: z.boolean().default(false),
  tables: z
    .array(z.object({ database: z.string(), table: z.string(), schema: z.string(), rows: z.number() }))
    .optional(),
  exportedAt: z.string().optional(),
});
export type ClusterSettings = z.output<typeof clusterSettingsSchema>;

export class ClusterSettingsFiles {
  private readonly cache = new Map<string, ClusterSettings>();

  constructor(private readonly directory: string) {}

  file(cluster: string): string {
    return path.join(this.directory, `${cluster}.json`);
  }

  async read(cluster: string): Promise<ClusterSettings> {
    const cached = this.cache.get(cluster);
    if (cached) return cached;
    let text: string;
    try {
      text = await fs.readFile(this.file(cluster), 'utf8');
    } catch {
      return clusterSettingsSchema.parse({ name: cluster });
    }
    let settings: ClusterSettings;
    try {
      settings = clusterSettingsSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new InvalidArgumentError(
        `${this.file(cluster)} is not a valid storage cluster file; fix or remove it`,
        {
          cause: error,
        },
      );
    }
    this.cache.set(cluster, settings);
    return settings;
  }

  async write(settings: ClusterSettings): Promise<string> {
    const file = this.file(settings.name);
    await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temporary, `${JSON.stringify(settings, null, 2)}\n`);
    await fs.rename(temporary, file);
    this.cache.set(settings.name, settings);
    return file;
  }
}
