/**
 * The web console's optional services, composed here because the server layer does not import
 * `sql`, `train` or `storage`: the notebook runs its cells in one SQL session per console, over the
 * head's own cluster API (in process, no hop), one cell at a time; the Jobs page reads the training
 * jobs of this machine and those the head placed on nodes (`console-jobs.ts`); the Storage page
 * reads the head's store.
 */
import fs from 'node:fs/promises';
import type { ClusterApi, PlacedJobsView } from '../cluster/index.js';
import type { ConsoleFeatures, ConsoleNotebookRunner, ConsoleStorage } from '../server/index.js';
import { SqlSession } from '../sql/index.js';
import type { StorageService } from '../storage/index.js';
import { createConsoleJobs } from './console-jobs.js';

export function createConsoleFeatures(options: {
  cluster: ClusterApi;
  store: StorageService;
  /**
   * Whether notebook SQL may read and write files and load extensions (as `byzerllm sql` does).
   * Give it only to a console behind an API key: without one, any local user who reaches the port
   * would read files as the head's user.
   */
  sqlFileAccess: boolean;
  /** On a NATS cluster's head: the training jobs it placed on nodes, listed beside this machine's. */
  placedJobs?: PlacedJobsView;
}): ConsoleFeatures {
  return {
    notebook: createNotebookRunner(options.cluster, options.sqlFileAccess),
    jobs: createConsoleJobs(options.placedJobs ? { placed: options.placedJobs } : {}),
    storage: createConsoleStorage(options.store),
  };
}

/** The head's store, read only; clusters are its folders and settings files (`<cluster>.json`). */
function createConsoleStorage(store: StorageService): ConsoleStorage {
  return {
    async clusters() {
      const entries = await fs.readdir(store.directory, { withFileTypes: true }).catch(() => []);
      const names = entries.map((entry) =>
        entry.isDirectory() ? entry.name : entry.name.endsWith('.json') ? entry.name.slice(0, -5) : '',
      );
      return [...new Set([DEFAULT_STORAGE_CLUSTER, ...names.filter(Boolean)])].sort();
    },
    call: (operation, body, signal) => store.call(operation, body as never, signal),
  };
}

/** Byzer-LLM's default storage cluster, listed even before anything is stored in it. */
const DEFAULT_STORAGE_CLUSTER = 'byzerai_store';

function createNotebookRunner(cluster: ClusterApi, fileAccess: boolean): ConsoleNotebookRunner {
  // DuckDB opens on the first cell run, so a console nobody runs a cell in costs nothing.
  const session = new SqlSession({ cluster, untrusted: !fileAccess });
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
