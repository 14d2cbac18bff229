import type { ClusterApi } from '../cluster/index.js';
import type { ModelCaller } from './query-calls.js';

/** What a SQL session needs of a cluster: deploy and look up models, and call them. */
export type SqlCluster = Pick<ClusterApi, 'deploy' | 'list' | 'meta'> & ModelCaller;
