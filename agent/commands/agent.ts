import { Command, Option } from 'commander';
import { ActionExecutor } from '../actions/index.ts';
import { Agent } from '../agent.ts';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { VERSION } from '../version.ts';
import { toJson, writeOut } from './output.ts';

/** How long SIGTERM waits for running actions and state writes (below the unit's TimeoutStopSec). */
export const SHUTDOWN_DEADLINE_MS = 20_000;

export function agentCommand(): Command {
  return new Command('agent')
    .description('run the fault-tolerance agent daemon (JSON logs to stdout, for journald)')
    .requiredOption('--config <file>', 'agent configuration (JSON with comments)')
    .addOption(
      new Option('--check', 'validate the configuration, print it with defaults, and exit'),
    )
    .action(async (opts: { config: string; check?: boolean }) => {
      const config = await loadConfig(opts.config); // ConfigError: exit 78, each problem with its path
      if (opts.check) {
        await writeOut(`${toJson(config, 2)}\n`);
        return;
      }
      const log = createLogger(config.log.level);
      const agent = new Agent(config, log, (deps) => new ActionExecutor(deps), VERSION);
      let stopping = false;
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          if (stopping) {
            log.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          stopping = true;
          log.info({ signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'stopping');
          const hard = setTimeout(() => {
            log.error('shutdown deadline passed: exiting');
            process.exit(1);
          }, SHUTDOWN_DEADLINE_MS + 5_000);
          hard.unref();
          void agent.close(SHUTDOWN_DEADLINE_MS).then(resolve, (err: unknown) => {
            log.error({ err }, 'error while stopping');
            resolve();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      try {
        await agent.start();
      } catch (err) {
        if (stopping) {
          await stopped;
          return;
        }
        log.fatal({ err }, 'agent failed to start');
        throw err;
      }
      await stopped;
    });
}
