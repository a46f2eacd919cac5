/**
 * A counting semaphore: at most `max` tasks run at once, the rest wait in FIFO order. A waiter
 * whose signal aborts leaves the queue at once (ws's Limiter has the same shape, without abort).
 */
export class Limiter {
  readonly #max: number;
  #running = 0;
  readonly #queue: (() => void)[] = [];

  /** @param max concurrent tasks, ≥ 1 */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`max must be an integer >= 1: ${max}`);
    this.#max = max;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Runs `task` when a slot is free; rejects with the signal's reason if it aborts first. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#running < this.#max) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#running++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.#queue.indexOf(grant);
        if (i !== -1) this.#queue.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(grant);
    });
  }
}
