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

export interface ConsoleFeatures {
  notebook?: ConsoleNotebookRunner;
}

/** Which pages have what they need; the page reads this from `/console/api/session`. */
export function featureFlags(features: ConsoleFeatures): Record<'notebook', boolean> {
  return { notebook: features.notebook !== undefined };
}
