/**
 * The web console's optional services, composed here because the server layer does not import
 * `sql`, `train` or `storage`: the notebook runs its cells in one SQL session per console, over the
 * head's own cluster API (in process, no hop), one cell at a time; the Jobs page reads the training
 * jobs of this machine (`console-jobs.ts`).
 */
import type { ClusterApi } from '../cluster/index.js';
import type { ConsoleFeatures, ConsoleNotebookRunner } from '../server/index.js';
import { SqlSession } from '../sql/index.js';
import { createConsoleJobs } from './console-jobs.js';

export function createConsoleFeatures(cluster: ClusterApi): ConsoleFeatures {
  return { notebook: createNotebookRunner(cluster), jobs: createConsoleJobs() };
}

function createNotebookRunner(cluster: ClusterApi): ConsoleNotebookRunner {
  // DuckDB opens on the first cell run, so a console nobody runs a cell in costs nothing.
  const session = new SqlSession({ cluster });
  // One DuckDB connection: cells from two tabs run one after the other, never interleaved.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    run(source, signal) {
      const run = queue.then(() => session.execute(source, { signal }));
      queue = run.catch(() => {});
      return run;
    },
    close: () => session.close(),
  };
}
