/** A window of the last N latency samples (ms) with percentiles: for /v1/metrics and the bench. */
export class LatencyWindow {
  readonly #size: number;
  readonly #samples: number[] = [];
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#size = size;
  }

  /** Total samples ever added. */
  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    this.#count++;
    if (this.#samples.length < this.#size) this.#samples.push(ms);
    else this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#size;
  }

  /** The p-th percentile (0–100) of the window, null when empty. */
  percentile(p: number): number | null {
    if (this.#samples.length === 0) return null;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i] ?? null;
  }

  summary(): { count: number; p50: number | null; p99: number | null; max: number | null } {
    return {
      count: this.#count,
      p50: this.percentile(50),
      p99: this.percentile(99),
      max: this.percentile(100),
    };
  }
}
