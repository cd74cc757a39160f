#!/usr/bin/env node
/**
 * The `cognito-identity-emulator` bin: starts the emulator, prints its endpoint alone on the first
 * stdout line once it accepts connections, then one JSON line per seeded pool, and stops cleanly on
 * SIGINT or SIGTERM. Bad arguments: a message on stderr and exit code 2; a failure to start (port
 * in use, damaged state file): exit code 1.
 */
import { startEmulator } from './start.js';
import { CliUsageError, parseCliArgs, USAGE } from './cli-args.js';

async function main(): Promise<void> {
  let command;
  try {
    command = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`cognito-identity-emulator: ${err.message}\nRun with --help for usage.\n`);
    process.exitCode = 2;
    return;
  }
  if (command.help) {
    process.stdout.write(USAGE);
    return;
  }

  let emulator;
  try {
    emulator = await startEmulator(command.options);
  } catch (err) {
    const bad = err instanceof TypeError;
    process.stderr.write(`cognito-identity-emulator: ${bad ? '' : 'cannot start: '}${(err as Error).message}\n`);
    process.exitCode = bad ? 2 : 1;
    return;
  }
  const running = emulator;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal while stopping: give up waiting.
      process.stderr.write(`cognito-identity-emulator: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    running.stop().then(
      () => {
        process.exitCode = 0;
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      },
      (err: unknown) => {
        process.stderr.write(`cognito-identity-emulator: stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Only now announce the endpoint: a client that reads it may signal us at once.
  process.stdout.write(`${running.endpoint}\n`);
  for (const pool of running.pools) process.stdout.write(`${JSON.stringify(pool)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `cognito-identity-emulator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
