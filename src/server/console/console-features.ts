/**
 * What the console can do beyond the cluster, each given by whoever starts it: the server layer
 * does not import `sql`, `train` or `storage` (same rank), so the cli layer (`head-main.ts`)
 * composes these from them. A console without one shows that page's "not available" note.
 */

/** One statement's or chat cell's outcome, as the notebook shows it. */
export interface NotebookStatementResult {
  /** The statement kind (`select`, `load`, …) or `chat`. */
  kind: string;
  columns: string[];
  rows: Record<string, unknown>[];
  /** A chat cell's answer. */
  answer?: string;
}

export interface ConsoleNotebookRunner {
  /**
   * Runs one cell (SQL statements, or a `--%chat` cell with its `--%` headers) in the console's
   * own SQL session, so views and chat conversations of earlier cells are seen by later ones.
   */
  run(source: string, signal: AbortSignal): Promise<NotebookStatementResult[]>;
  close(): Promise<void>;
}

/** A training job as the Jobs page lists it. */
export interface ConsoleJobSummary {
  name: string;
  kind: string;
  status: string;
  /** Why it failed or stopped. */
  reason?: string;
  createdAt: string;
  lastStep?: { step: number; totalSteps: number; loss: number | null };
  /**
   * The node the head placed it on (the node of rank 0; `nodes` lists every node of a job spread
   * over several). Absent for a job run on the head's own machine without the cluster.
   */
  node?: string;
  nodes?: string[];
}

/** One job's loss curve and log, for its chart and log panel. */
export interface ConsoleJobDetail {
  /** Every training step's loss (and the evaluation loss where one was measured), in step order. */
  points: { step: number; loss: number | null; evalLoss?: number }[];
  /** The job's progress events and its log files' last lines, oldest first. */
  log: string[];
}

export interface ConsoleJobs {
  list(): Promise<ConsoleJobSummary[]>;
  detail(name: string): Promise<ConsoleJobDetail>;
}

/** The storage operations the Storage page uses: it reads, it never writes or drops. */
export const CONSOLE_STORAGE_OPERATIONS = ['listTables', 'describeTable', 'query'] as const;
export type ConsoleStorageOperation = (typeof CONSOLE_STORAGE_OPERATIONS)[number];

export interface ConsoleStorage {
  /** The storage clusters that have data or settings on the head. */
  clusters(): Promise<string[]>;
  /** One storage protocol operation; the store checks the body with that operation's schema. */
  call(operation: ConsoleStorageOperation, body: unknown, signal?: AbortSignal): Promise<unknown>;
}

export interface ConsoleFeatures {
  notebook?: ConsoleNotebookRunner;
  jobs?: ConsoleJobs;
  storage?: ConsoleStorage;
}

export type FeatureName = keyof ConsoleFeatures;

/** Which pages have what they need; the page reads this from `/console/api/session`. */
export function featureFlags(features: ConsoleFeatures): Record<FeatureName, boolean> {
  return {
    notebook: features.notebook !== undefined,
    jobs: features.jobs !== undefined,
    storage: features.storage !== undefined,
  };
}
