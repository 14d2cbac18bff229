#!/usr/bin/env node
/** `byzerllm`: deploy, inspect, query and serve named model instances. */
import { reportError } from './exit-codes.js';
import { main } from './program.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportError(error);
  },
);
