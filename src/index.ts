/**
 * The `byzerllm` package: the model protocol and errors, the cluster API, and (as they land) the
 * client library and the OpenAI-compatible server. One line per layer.
 */
export * from './core/index.js';
export {
  type ClusterApi,
  type ClusterStatus,
  connectCluster,
  type ConnectOptions,
  type DeploymentInfo,
  type DeploymentStat,
  type DeployOutcome,
  HeadClient,
} from './cluster/index.js';
export * from './client/index.js';
export * from './server/index.js';
export * from './sql/index.js';
