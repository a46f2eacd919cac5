/**
 * The contract between health sources and the agent (style guide §2.8): each reader takes its
 * configuration slice and a logger through its constructor and answers `read(signal)` with a
 * reading whose `status` is `ok`, `no-data` (nothing to read here — a value, not an error) or
 * `error`.
 */

/** The subset of pino's logger the health code uses; `log.child({ component })` fits. */
export interface HealthLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** A logger that drops everything, for tests and the one-shot CLI. */
export const silentLogger: HealthLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Status shared by all readings. */
export type ReadingStatus = 'ok' | 'no-data' | 'error';

/** A health source. `read` never throws for expected conditions; it reports them. */
export interface HealthReader<R extends { readonly status: ReadingStatus }> {
  readonly name: 'edac' | 'smart';
  read(signal?: AbortSignal): Promise<R>;
}
