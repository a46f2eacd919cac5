/** Reconnect backoff: exponential with jitter, capped. Pure; tests pass a fixed `random`. */
export interface BackoffOptions {
  /** First delay. @default 250 */
  readonly baseMs: number;
  /** Growth per attempt. @default 2 */
  readonly factor: number;
  /** Largest delay. @default 30000 */
  readonly capMs: number;
  /** ± fraction of the delay drawn at random, so many agents don't retry in step. @default 0.2 */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 250,
  factor: 2,
  capMs: 30_000,
  jitter: 0.2,
};

/** Delay before retry number `attempt` (0-based). */
export function backoffDelayMs(
  attempt: number,
  o: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(
      `Cannot compute backoff: attempt must be a non-negative integer, got ${attempt}`,
    );
  }
  const exp = Math.min(o.capMs, o.baseMs * o.factor ** Math.min(attempt, 64));
  return Math.round(exp * (1 - o.jitter + 2 * o.jitter * random()));
}
