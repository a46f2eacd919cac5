/**
 * Rate limits (reliability.md §2.5), on a monotonic clock in milliseconds that tests replace:
 * a token bucket, a bucket per key with a bounded number of keys, and per-key cool-downs.
 */

/** A monotonic clock, ms. */
export type Clock = () => number;

/** A token bucket: `ratePerSec` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #at: number;

  constructor(ratePerSec: number, burst: number, clock: Clock) {
    if (!(ratePerSec > 0 && burst >= 1)) {
      throw new RangeError(
        `a token bucket needs rate > 0 and burst >= 1, got ${ratePerSec}/${burst}`,
      );
    }
    this.#rate = ratePerSec / 1000;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#at = clock();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Ms until the next token (0 when one is there). */
  waitMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#rate);
  }

  #refill(): void {
    const now = this.#clock();
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#at) * this.#rate);
    this.#at = now;
  }
}

/**
 * Tells a flood from a burst: `refused()` is true once refusals have kept coming (no pause of
 * `quietMs` between two) for `windowMs`. Messages let through in between do not reset it: a
 * client sending at twice the allowed rate is a flood even though half its messages pass.
 */
export class FloodDetector {
  readonly #windowMs: number;
  readonly #quietMs: number;
  readonly #clock: Clock;
  #since: number | null = null;
  #last = 0;

  constructor(windowMs: number, clock: Clock, quietMs = 1_000) {
    this.#windowMs = windowMs;
    this.#quietMs = quietMs;
    this.#clock = clock;
  }

  /** Records a refusal; true when they have kept coming for `windowMs`. */
  refused(): boolean {
    const now = this.#clock();
    if (this.#since === null || now - this.#last > this.#quietMs) this.#since = now;
    this.#last = now;
    return now - this.#since >= this.#windowMs;
  }
}

/** One token bucket per key (e.g. per source IP), at most `maxKeys` kept (oldest dropped). */
export class KeyedBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #make: () => TokenBucket;
  readonly #maxKeys: number;

  constructor(make: () => TokenBucket, maxKeys = 4096) {
    this.#make = make;
    this.#maxKeys = maxKeys;
  }

  take(key: string): boolean {
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key); // re-insert: most recently used last
    } else {
      b = this.#make();
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(key, b);
    return b.take();
  }
}

/** At most one use per key per `intervalMs`; a use can be given back (nothing ran). */
export class Cooldowns {
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #last = new Map<string, number>();

  constructor(intervalMs: number, clock: Clock) {
    this.#intervalMs = intervalMs;
    this.#clock = clock;
  }

  /** Takes the key's slot: 0 when taken, else the ms until it frees. */
  take(key: string): number {
    if (this.#intervalMs <= 0) return 0;
    const now = this.#clock();
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return this.#intervalMs - (now - last);
    this.#last.set(key, now);
    if (this.#last.size > 10_000) this.#prune(now);
    return 0;
  }

  /** Gives back the slot `take` returned 0 for. */
  release(key: string): void {
    this.#last.delete(key);
  }

  #prune(now: number): void {
    for (const [k, t] of this.#last) if (now - t >= this.#intervalMs) this.#last.delete(k);
  }
}
