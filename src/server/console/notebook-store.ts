/**
 * The console's notebook, kept as one file under the state directory (`notebooks/console.json`,
 * 0600, atomic writes): its cells and each cell's last result, so a reload or another browser
 * shows the same notebook. The file is checked with zod when read; a file that does not fit is
 * reported, never half-used.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../cluster/index.js';
import { InvalidArgumentError } from '../../core/index.js';

/** Rows kept per saved result: the notebook file stays small; running the cell again shows all. */
export const SAVED_ROWS = 200;

const resultSchema = z.strictObject({
  kind: z.string().max(64),
  columns: z.array(z.string()).max(1000),
  rows: z.array(z.array(z.unknown())).max(SAVED_ROWS),
  answer: z.string().optional(),
});

const cellSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/),
  source: z.string().max(100_000),
  results: z.array(resultSchema).max(100).optional(),
  error: z.string().max(10_000).optional(),
});

export const notebookSchema = z.strictObject({
  version: z.literal(1),
  cells: z.array(cellSchema).max(500),
});

export type Notebook = z.infer<typeof notebookSchema>;
export type NotebookResult = z.infer<typeof resultSchema>;

const EMPTY: Notebook = { version: 1, cells: [] };

export class NotebookStore {
  readonly file: string;

  constructor(stateDirectory: string) {
    this.file = path.join(stateDirectory, 'notebooks', 'console.json');
  }

  async load(): Promise<Notebook> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
      throw error;
    }
    const parsed = notebookSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidArgumentError(
        `the notebook file ${this.file} is not a notebook (${issue?.path.join('.')}: ${issue?.message}); move it away to start a new one`,
      );
    }
    return parsed.data;
  }

  /** Checks `body` and writes it; answers what was written. */
  async save(body: unknown): Promise<Notebook> {
    const parsed = notebookSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidArgumentError(`invalid notebook: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    await writeFileAtomic(this.file, `${JSON.stringify(parsed.data)}\n`, 0o600);
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
