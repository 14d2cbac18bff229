import type { ClusterApi, RouteSummary } from '../cluster/index.js';
import type { ModelCaller } from './query-calls.js';

/** What a SQL session needs of a cluster: deploy and look up models, and call them. */
export type SqlCluster = Pick<ClusterApi, 'deploy' | 'list' | 'meta'> &
  ModelCaller & {
    /**
     * Optional: the cluster's routes (a `HeadClient` has them). A route's name is then a model
     * function like a deployment's, and its calls run through the route (fallbacks, retries,
     * cooldowns), which `call`/`meta` of such a cluster resolve by name. Without it only
     * deployments are functions.
     */
    routes?: { list(): Promise<RouteSummary[]> };
  };
