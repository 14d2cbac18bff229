/**
 * The trainer the SQL layer hands Byzer-LLM's training statements to. Kept apart from
 * statement-actions.ts, which speaks DuckDB's types, so the package's public declarations never
 * name the optional `@duckdb/node-api`.
 */

/**
 * Runs Byzer-LLM's training form of `run command as LLM` (`pretrainedModelType="sft/…"` or
 * `"sfft/…"`). The SQL layer does not import the training layer (they are siblings): whoever opens
 * the session (the CLI) supplies this, built on src/train.
 */
export interface SqlTrainer {
  /**
   * Starts the job the parameters describe on `rows` (the input table), and with
   * `detached="false"` follows it to its end. Returns one row describing the job (name, status, …).
   */
  train(request: {
    params: Readonly<Record<string, string>>;
    rows?: Record<string, unknown>[];
  }): Promise<Record<string, unknown>>;
}
