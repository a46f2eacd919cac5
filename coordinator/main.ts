/** The coordinator daemon's entry: config → logger → Coordinator → signal handlers. */
import { toJson, writeOut } from '../agent/commands/output.ts';
import { createLogger } from '../agent/log.ts';
import { COORDINATOR_SHUTDOWN_MS } from './command.ts';
import { loadCoordinatorConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';

/** Runs until SIGTERM/SIGINT; with `check`, prints the config (tokens redacted) and returns. */
export async function runCoordinator(file: string, check: boolean): Promise<void> {
  const config = await loadCoordinatorConfig(file); // ConfigError: exit 78
  if (check) {
    const agents = config.agents.map((a) => ({
      ...a,
      ...(a.token ? { token: '[redacted]' } : {}),
    }));
    await writeOut(`${toJson({ ...config, agents }, 2)}\n`);
    return;
  }
  const log = createLogger(config.log.level);
  const coordinator = new Coordinator(config, log);
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal }, 'stopping');
      setTimeout(() => process.exit(1), COORDINATOR_SHUTDOWN_MS).unref();
      coordinator.close().then(resolve, (err: unknown) => {
        log.error({ err }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await coordinator.start();
  await stopped;
}
