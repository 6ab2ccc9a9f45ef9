#!/usr/bin/env node
/**
 * `sealog` — the command line (CONTRACT §4). Routing only: every command's logic lives in a
 * package (`verify` in @sealog/verifier) or in its own module here (`serve` in serve.ts).
 * `export`, `keys` and `reindex` arrive with later slices of issue 5.
 */
import { runVerifyCommand, VERIFY_USAGE } from '@sealog/verifier';
import { Command } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT } from './config';
import { runServeCommand } from './serve';

const program = new Command('sealog')
  .description('sealog — a fast, tamper-evident, encrypted audit log')
  .showHelpAfterError();

program
  .command('verify')
  .description(
    'verify a data dir, a log dir or an export bundle offline (exit 0 ok, 1 tampering, 2 usage/I/O)',
  )
  .argument('[args...]', VERIFY_USAGE.trim())
  .helpOption(false)
  .allowUnknownOption()
  .action(async (args: string[]) => {
    process.exitCode = await runVerifyCommand(args, {
      stdout: process.stdout,
      stderr: process.stderr,
      isTTY: process.stderr.isTTY === true,
    });
  });

program
  .command('serve')
  .description(
    'run the audit log service (HTTP API; env SEALOG_DATA_DIR, SEALOG_PORT, SEALOG_HOST, SEALOG_ADMIN_KEY)',
  )
  .option('--data-dir <dir>', `data directory (default ${DEFAULT_DATA_DIR})`)
  .option('--port <n>', `HTTP port (default ${DEFAULT_HTTP_PORT})`)
  .option('--grpc-port <n>', `gRPC port (default ${DEFAULT_GRPC_PORT}; gRPC is not served yet)`)
  .option('--host <address>', 'listen address (default 127.0.0.1)')
  .action(async (opts: { dataDir?: string; port?: string; grpcPort?: string; host?: string }) => {
    process.exitCode = await runServeCommand(opts, process.env, {
      stdout: process.stdout,
      stderr: process.stderr,
    });
  });

await program.parseAsync(process.argv);
