#!/usr/bin/env node
/** `byzerllm`: deploy, inspect, query and serve named model instances. */
import { reportError } from './exit-codes.js';
import { main } from './program.js';

// `byzerllm query … | head`: once the reader is gone, the output is no longer wanted. Stop quietly,
// as a Unix tool killed by SIGPIPE would, instead of crashing with a stack trace on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportError(error);
  },
);
