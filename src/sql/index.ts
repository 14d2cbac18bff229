export type { Cell } from './notebook-cells.js';
export { parseCells } from './notebook-cells.js';
export type { QueryProgress } from './query-calls.js';
export type {
  RunOptions,
  SqlCluster,
  SqlSessionOptions,
  SqlTrainer,
  StatementResult,
} from './sql-session.js';
export { SqlSession } from './sql-session.js';
export { createPredictHandler } from './model-predict.js';
