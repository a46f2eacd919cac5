import type { Domain } from '../protocol/types.ts';
import type { LibvirtConnection } from '../client.ts';
import {
  connectDomainEventCallbackDeregisterAny,
  connectDomainEventCallbackRegisterAny,
} from '../procedures/connect.ts';
import { DEFAULT_EVENT_NAMES, EVENT_SPECS } from './decode.ts';
import type { DomainEvent, DomainEventName } from './decode.ts';
import { EventQueue } from './queue.ts';
import type { EventGap } from './queue.ts';

export interface SubscribeOptions {
  /** Which events. @default DEFAULT_EVENT_NAMES */
  readonly events?: readonly DomainEventName[];
  /** Only this domain's events (the daemon filters). @default all domains */
  readonly domain?: Domain | null;
  /** Events held for a slow consumer before a gap. @default 4096 */
  readonly queueSize?: number;
  /** Ends the subscription (and deregisters its callbacks). */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * A set of server-side event callbacks feeding one bounded queue. Iterate it with
 * `for await`. It ends when closed, aborted, or when the connection ends: events already
 * received are delivered first, so nothing received is lost on shutdown.
 */
export class EventSubscription implements AsyncIterable<DomainEvent | EventGap> {
  readonly #queue: EventQueue<DomainEvent>;
  readonly #conn: LibvirtConnection;
  readonly #registry: EventRegistry;
  readonly callbackIds: number[] = [];
  #closed = false;

  constructor(conn: LibvirtConnection, registry: EventRegistry, queueSize: number) {
    this.#conn = conn;
    this.#registry = registry;
    this.#queue = new EventQueue<DomainEvent>(queueSize);
  }

  /** Events dropped because the consumer lagged (each drop run also yields a gap). */
  get dropped(): number {
    return this.#queue.droppedTotal;
  }

  get ended(): boolean {
    return this.#queue.ended;
  }

  /** @internal */
  deliver(e: DomainEvent): void {
    this.#queue.push(e);
  }

  /** @internal Ends iteration after what is queued. */
  end(): void {
    this.#closed = true;
    this.#queue.end();
  }

  /** Deregisters the callbacks (best effort) and ends the stream. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ids = this.callbackIds.splice(0);
    for (const id of ids) this.#registry.forget(id);
    this.#registry.release(this);
    this.#queue.end();
    if (this.#conn.isClosed) return;
    await Promise.allSettled(
      ids.map((id) =>
        this.#conn.call(connectDomainEventCallbackDeregisterAny, id, { timeoutMs: 5_000 }),
      ),
    );
  }

  /** Leaving a `for await` early (break, throw) closes the subscription: its callbacks are deregistered. */
  [Symbol.asyncIterator](): AsyncIterator<DomainEvent | EventGap> {
    const it = this.#queue[Symbol.asyncIterator]();
    return {
      next: () => it.next(),
      return: async () => {
        await this.close();
        return it.return ? it.return() : { value: undefined, done: true };
      },
    };
  }
}

const EARLY_MAX = 256;

/** Routes events from one connection to subscriptions by callback ID. */
export class EventRegistry {
  readonly #byCallback = new Map<number, EventSubscription>();
  /** Every live subscription, also those with no callback (an empty event list). */
  readonly #all = new Set<EventSubscription>();
  readonly #conn: LibvirtConnection;
  /** Events whose callback ID is not known yet: the daemon may send an event before the
   * REGISTER reply that tells us the ID. Replayed to the subscription that registers it. */
  readonly #early: DomainEvent[] = [];
  #unrouted = 0;

  constructor(conn: LibvirtConnection) {
    this.#conn = conn;
    conn.setEventSink((e) => {
      const sub = this.#byCallback.get(e.callbackId);
      if (sub) {
        sub.deliver(e);
        return;
      }
      this.#unrouted++;
      this.#early.push(e);
      if (this.#early.length > EARLY_MAX) this.#early.shift();
    });
    void conn.closed.then(() => {
      for (const sub of this.#all) sub.end();
      this.#all.clear();
      this.#byCallback.clear();
    });
  }

  /** Events that arrived for no live subscription (e.g. just after deregistering). */
  get unrouted(): number {
    return this.#unrouted;
  }

  forget(callbackId: number): void {
    this.#byCallback.delete(callbackId);
  }

  /** @internal A subscription that closed. */
  release(sub: EventSubscription): void {
    this.#all.delete(sub);
  }

  /** Registers one callback per event with the daemon and returns the subscription. */
  async subscribe(options: SubscribeOptions = {}): Promise<EventSubscription> {
    const sub = new EventSubscription(this.#conn, this, options.queueSize ?? 4096);
    this.#all.add(sub);
    const names = options.events ?? DEFAULT_EVENT_NAMES;
    try {
      for (const name of names) {
        const id = await this.#conn.call(
          connectDomainEventCallbackRegisterAny,
          { eventId: EVENT_SPECS[name].id, domain: options.domain ?? null },
          { timeoutMs: options.timeoutMs, signal: options.signal },
        );
        sub.callbackIds.push(id);
        this.#byCallback.set(id, sub);
        for (let i = 0; i < this.#early.length;) {
          const e = this.#early[i];
          if (e?.callbackId === id) {
            this.#early.splice(i, 1);
            this.#unrouted--;
            sub.deliver(e);
          } else i++;
        }
      }
    } catch (err) {
      await sub.close();
      throw err;
    }
    if (options.signal) {
      options.signal.addEventListener('abort', () => void sub.close(), { once: true });
    }
    // The connection may have ended while we registered: such a subscription ends at once.
    if (this.#conn.isClosed) sub.end();
    return sub;
  }
}
