/**
 * `virt-ft coordinator --config FILE`: runs the coordinator. The coordinator's modules (and the
 * SQLite addon) load only when this command runs, so `virt-ft agent` never loads them.
 */
import { Command, Option } from 'commander';

/** How long SIGTERM waits for the links and the store to close. */
export const COORDINATOR_SHUTDOWN_MS = 10_000;

/** The `coordinator` subcommand of the CLI (agent/cli.ts). */
export function coordinatorCommand(): Command {
  return new Command('coordinator')
    .description(
      'run the coordinator: subscribes to every agent, stores events, serves the admin API',
    )
    .requiredOption('--config <file>', 'coordinator configuration (JSON with comments)')
    .addOption(
      new Option('--check', 'validate the configuration, print it with defaults, and exit'),
    )
    .action(async (opts: { config: string; check?: boolean }) => {
      const { runCoordinator } = await import('./main.ts');
      await runCoordinator(opts.config, opts.check === true);
    });
}
