#!/usr/bin/env node
/**
 * `sealog` — the command line (CONTRACT §4). Routing only: every command's logic lives in a
 * package (`verify` in @sealog/verifier). `serve`, `export`, `keys` and `reindex` arrive with the
 * server (issue 5).
 */
import { runVerifyCommand, VERIFY_USAGE } from '@sealog/verifier';
import { Command } from 'commander';

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

await program.parseAsync(process.argv);
