import type { DomainEvent, EventGap } from '../../agent/libvirt/index.ts';

type Item = DomainEvent | EventGap | { readonly event: string; readonly time: Date };

/** `Type/Detail` for lifecycle events, the event name otherwise. */
export function label(e: Item): string {
  if (e.event === 'lifecycle' && 'type' in e) return `${String(e.type)}/${String(e.detail)}`;
  return e.event;
}

/** Collects items from an async iterable in the background, and waits for matches. */
export class Collector<T extends Item> {
  readonly items: T[] = [];
  #wake: (() => void) | null = null;
  readonly done: Promise<void>;

  constructor(source: AsyncIterable<T>) {
    this.done = (async () => {
      for await (const e of source) {
        this.items.push(e);
        this.#wake?.();
      }
    })();
  }

  /** Waits until `pred` matches an item collected after index `from`; returns that item. */
  async waitFor(pred: (e: T) => boolean, timeoutMs: number, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.items.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `no matching event within ${timeoutMs} ms; got: ${this.items.map(label).join(', ')}`,
        );
      }
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50);
      });
    }
  }

  /** Waits for a lifecycle event `Type/Detail`. */
  waitForLifecycle(typeDetail: string, timeoutMs: number, from = 0): Promise<T> {
    return this.waitFor((e) => label(e) === typeDetail, timeoutMs, from);
  }

  labels(from = 0): string[] {
    return this.items.slice(from).map(label);
  }
}
