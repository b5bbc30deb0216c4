#!/usr/bin/env node
/** `snakepit`: the command line of @snakepit/adapter-python (`npx snakepit doctor`). */
import { runCli } from './run-cli.js';
import { processIo } from './output.js';

// `npx snakepit doctor | head` closes the pipe early: that is not a failure worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`snakepit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
