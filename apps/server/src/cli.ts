#!/usr/bin/env node
/**
 * `sealog` — the command line (CONTRACT §4). Routing only: every command's logic lives in a
 * package (`verify` in @sealog/verifier) or in its own module here (`serve` in serve.ts).
 * `export`, `keys` and `reindex` are offline operator commands (admin-commands.ts).
 */
import { runVerifyCommand, VERIFY_USAGE } from '@sealog/verifier';
import { Command } from 'commander';
import { runExportCommand, runKeysCommand, runReindexCommand } from './admin-commands';
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
  .option('--grpc-port <n>', `gRPC port (default ${DEFAULT_GRPC_PORT})`)
  .option('--host <address>', 'listen address (default 127.0.0.1)')
  .option('--config <file>', 'JSON config file (env SEALOG_CONFIG); flags and env override it')
  .action(
    async (opts: { dataDir?: string; port?: string; grpcPort?: string; host?: string; config?: string }) => {
      process.exitCode = await runServeCommand(opts, process.env, {
        stdout: process.stdout,
        stderr: process.stderr,
      });
    },
  );

const io = { stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true };
const dataDirOption = `data directory (default $SEALOG_DATA_DIR or ${DEFAULT_DATA_DIR})`;

program
  .command('reindex')
  .description('rebuild the search index from the logs (server stopped; exit 0 ok, 2 error)')
  .option('--data-dir <dir>', dataDirOption)
  .action(async (opts: { dataDir?: string }) => {
    process.exitCode = await runReindexCommand(opts, process.env, io);
  });

program
  .command('export')
  .description("export one tenant's records as ndjson, csv or a verifiable bundle (server stopped)")
  .requiredOption('--tenant <id>', 'tenant to export')
  .option('--format <format>', 'ndjson (default), csv or bundle')
  .option('--out <file>', 'write to FILE (mode 0600) instead of stdout')
  .option('--actor-id <id>', 'only this actor')
  .option('--action <action>', 'only this action')
  .option('--resource-type <type>', 'only this resource type')
  .option('--resource-id <id>', 'only this resource id')
  .option('--result <result>', 'success, failure or unknown (ndjson/csv)')
  .option('--category <category>', 'create, read, update, delete, auth, admin or other (ndjson/csv)')
  .option('--start-time <time>', 'occurred at or after (epoch seconds or RFC 3339)')
  .option('--end-time <time>', 'occurred before (epoch seconds or RFC 3339)')
  .option('--order <order>', 'asc (default) or desc (ndjson/csv)')
  .option('--log-id <id>', 'bundle: the log, when there are several')
  .option(
    '--consistency-from <sizes>',
    'bundle: add consistency proofs from these tree sizes (e.g. of checkpoints an auditor kept); comma-separated, repeatable',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option('--no-personal', 'leave personal fields out (ndjson/csv)')
  .option('--data-dir <dir>', dataDirOption)
  .action(async (opts) => {
    process.exitCode = await runExportCommand(opts, process.env, io);
  });

program
  .command('keys')
  .description('manage API keys: create --tenant T --roles r1,r2 | list | revoke KEY_ID (server may run)')
  .argument('<action>', 'create, list or revoke')
  .argument('[args...]', 'revoke: the key id')
  .option('--tenant <id>', 'create: tenant scope, or "*" for every tenant')
  .option('--roles <roles>', 'create: comma-separated ingest, read, export, erase, admin')
  .option('--json', 'machine-readable output')
  .option('--data-dir <dir>', dataDirOption)
  .action(async (action: string, args: string[], opts) => {
    process.exitCode = await runKeysCommand(action, opts, args, process.env, io);
  });

await program.parseAsync(process.argv);
