/**
 * One action at a time per VM. A request that finds its VM busy waits in a FIFO behind it,
 * up to a bounded depth, or is answered busy at once (when it asked to be, or the queue is
 * full). libvirt serializes jobs per domain too, but its job lock waits 30 s and then fails
 * with "cannot acquire state change lock": queueing here keeps that from ever happening.
 */

/** Frees the lock; the next waiter (if any) starts. Idempotent. */
export type Release = () => void;

interface Waiter {
  readonly grant: (release: Release) => void;
  readonly fail: (err: Error) => void;
}

interface Slot {
  waiters: Waiter[];
}

export class DomainLocks {
  readonly #maxQueue: number;
  readonly #slots = new Map<string, Slot>();

  /** @param maxQueue requests allowed to wait per VM behind the running one. */
  constructor(maxQueue: number) {
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError(`maxQueuePerDomain must be an integer ≥ 0, got ${maxQueue}`);
    }
    this.#maxQueue = maxQueue;
  }

  /** True while an action holds `uuid`'s lock. */
  isHeld(uuid: string): boolean {
    return this.#slots.has(uuid);
  }

  /** Requests waiting for `uuid`. */
  queued(uuid: string): number {
    return this.#slots.get(uuid)?.waiters.length ?? 0;
  }

  /**
   * Takes `uuid`'s lock. Answers `'busy'` synchronously when it is held and `ifBusy` is
   * `'reject'` or the queue is full; otherwise resolves when the lock is granted, in request
   * order. `signal` abandons the wait (the promise rejects with its reason).
   */
  acquire(uuid: string, ifBusy: 'wait' | 'reject', signal: AbortSignal): 'busy' | Promise<Release> {
    const slot = this.#slots.get(uuid);
    if (!slot) {
      this.#slots.set(uuid, { waiters: [] });
      return Promise.resolve(this.#releaser(uuid));
    }
    if (ifBusy === 'reject' || slot.waiters.length >= this.#maxQueue) return 'busy';
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const i = slot.waiters.indexOf(waiter);
        if (i !== -1) slot.waiters.splice(i, 1);
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
        fail: reject,
      };
      if (signal.aborted) {
        reject(abortError(signal));
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      slot.waiters.push(waiter);
    });
  }

  /** Fails every waiting request with `err` (used by close()); running ones keep their locks. */
  failWaiters(err: Error): void {
    for (const slot of this.#slots.values()) {
      for (const w of slot.waiters.splice(0)) w.fail(err);
    }
  }

  #releaser(uuid: string): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const slot = this.#slots.get(uuid);
      const next = slot?.waiters.shift();
      if (next) next.grant(this.#releaser(uuid));
      else this.#slots.delete(uuid);
    };
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error('aborted', { cause: signal.reason });
}
