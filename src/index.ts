/**
 * The `byzerllm` package: the model protocol and errors, the cluster API, and (as they land) the
 * client library, the OpenAI-compatible server and training jobs. One line per layer.
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
export * from './storage/index.js';
export {
  convertToGguf,
  ensureTinyHfModel,
  followTrainingJob,
  getTrainingJob,
  type JobRecord,
  listTrainingJobs,
  mergeLoraAdapter,
  type ProgressEvent,
  readTrainingProgress,
  removeTrainingJob,
  resumeTrainingJob,
  startTrainingJob,
  stopTrainingJob,
  type TrainingOptionsInput,
  trainingOptionsFromByzerSql,
} from './train/index.js';
