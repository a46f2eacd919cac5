import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * The agent's one root logger: JSON lines to stdout for journald (no transports in the
 * daemon). Components get `log.child({ component })`. Secrets are redacted by key.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? process.stdout,
  );
}
