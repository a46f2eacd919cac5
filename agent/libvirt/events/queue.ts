/** A marker in an event stream: `dropped` events were lost here because the consumer lagged. */
export interface EventGap {
  readonly event: 'gap';
  readonly dropped: number;
  readonly time: Date;
}

/**
 * A bounded FIFO between the socket reader and one consumer, consumed as an async iterator.
 * `push` never blocks and never throws. When full, new items are dropped and counted; the
 * count reaches the consumer as one {@link EventGap} in the place where the items were lost,
 * so an overflow is never silent. `end()` lets the consumer drain what is queued, then stops.
 */
export class EventQueue<T> implements AsyncIterable<T | EventGap> {
  readonly #capacity: number;
  readonly #items: (T | EventGap)[] = [];
  #dropped = 0;
  #droppedTotal = 0;
  #ended = false;
  #waiter: ((v: IteratorResult<T | EventGap>) => void) | null = null;
  #iterating = false;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot create an event queue: capacity must be ≥ 1, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Events dropped since the queue was made. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w({ value: item, done: false });
      return;
    }
    if (this.#items.length >= this.#capacity) {
      this.#dropped++;
      this.#droppedTotal++;
      return;
    }
    this.#flushGap();
    this.#items.push(item);
  }

  /** No more items will come; queued ones are still delivered. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#flushGap();
    if (this.#waiter && this.#items.length === 0) {
      const w = this.#waiter;
      this.#waiter = null;
      w({ value: undefined, done: true });
    }
  }

  #flushGap(): void {
    if (this.#dropped > 0) {
      // The gap marker may take the queue one past capacity: it is never dropped itself.
      this.#items.push({ event: 'gap', dropped: this.#dropped, time: new Date() });
      this.#dropped = 0;
    }
  }

  #next(): Promise<IteratorResult<T | EventGap>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#dropped > 0) {
      this.#flushGap();
      return this.#next();
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<T | EventGap> {
    if (this.#iterating) throw new Error('An event queue has a single consumer');
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.end();
        this.#items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
