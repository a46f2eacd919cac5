#!/usr/bin/env node
import { runCli } from './cli.ts';

// A reader that goes away (`virt-ft events | head`) is a normal end, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2));
