import type { ClusterApi } from '../cluster/index.js';
import type { ModelCaller } from './query-calls.js';

/** A route as the head lists it (`byzerllm route list`): its virtual model name and its config. */
export interface SqlRoute {
  name: string;
  /** The routing config; parsed (zod) before its deployments are read. */
  config: unknown;
}

/** What a SQL session needs of a cluster: deploy and look up models, and call them. */
export type SqlCluster = Pick<ClusterApi, 'deploy' | 'list' | 'meta'> &
  ModelCaller & {
    /**
     * Optional: the cluster's routes (a `HeadClient` has them). A route's name is then a model
     * function like a deployment's, and its calls run through the route (fallbacks, retries,
     * cooldowns), which `call`/`meta` of such a cluster resolve by name. Without it only
     * deployments are functions.
     */
    routes?: { list(): Promise<SqlRoute[]> };
  };
