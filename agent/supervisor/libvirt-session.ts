import { setTimeout as sleep } from 'node:timers/promises';
import { EventQueue, LibvirtClient } from '../libvirt/index.ts';
import type {
  CloseInfo,
  DomainEvent,
  DomainEventName,
  EventGap,
  EventSubscription,
  OpenOptions,
} from '../libvirt/index.ts';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';

/** What the session says about its connection, in the same stream as the events. */
export type SessionStatus =
  | {
      readonly event: 'session';
      readonly state: 'connected';
      readonly time: Date;
      readonly attempt: number;
      readonly uri: string;
      readonly handshakeMs: number;
      readonly reconnect: boolean;
    }
  | {
      readonly event: 'session';
      readonly state: 'disconnected';
      readonly time: Date;
      readonly reason: string;
      readonly message: string;
    }
  | {
      readonly event: 'session';
      readonly state: 'backoff';
      readonly time: Date;
      readonly attempt: number;
      readonly delayMs: number;
      readonly message: string;
    };

export type SessionItem = DomainEvent | EventGap | SessionStatus;

export interface LibvirtSessionOptions {
  readonly open: OpenOptions;
  readonly events?: readonly DomainEventName[];
  readonly backoff?: BackoffOptions;
  /** Items held for a slow consumer before a gap. @default 8192 */
  readonly queueSize?: number;
  /**
   * Runs after every (re)connection, once the events are registered and before their
   * delivery resumes: the place to re-list domains and diff against what was known, since
   * events during the gap are lost for good. A throw counts as a failed connection.
   */
  readonly onConnected?: (client: LibvirtClient, info: { reconnect: boolean }) => Promise<void>;
  /** Told about each failed first attempt when `start({ retry: true })` (for logging). */
  readonly onRetry?: (err: unknown, delayMs: number) => void;
  /** For tests. */
  readonly random?: () => number;
}

/**
 * Keeps one libvirt connection alive above the client, which never reconnects by itself:
 * on loss it reports why, waits with jittered backoff, redoes the handshake, re-registers
 * the event callbacks (their IDs die with the connection), runs `onConnected`, and says so
 * in its stream. Nothing received before a loss is dropped.
 */
export class LibvirtSession implements AsyncIterable<SessionItem> {
  readonly #o: LibvirtSessionOptions;
  readonly #queue: EventQueue<SessionItem>;
  readonly #stop = new AbortController();
  #client: LibvirtClient | null = null;
  #loop: Promise<void> | null = null;
  #connects = 0;

  constructor(options: LibvirtSessionOptions) {
    this.#o = options;
    this.#queue = new EventQueue<SessionItem>(options.queueSize ?? 8192);
  }

  /** The live client, or null while disconnected. */
  get client(): LibvirtClient | null {
    return this.#client && !this.#client.isClosed ? this.#client : null;
  }

  /** Successful connections so far. */
  get connects(): number {
    return this.#connects;
  }

  /**
   * Connects and starts supervising. By default it rejects if that first connection fails, so
   * a command-line user gets a clear error at once; with `retry` (the daemon) it keeps trying
   * with backoff until connected or closed.
   */
  async start(options: { retry?: boolean } = {}): Promise<void> {
    let first: EventSubscription | null = null;
    for (let attempt = 0; first === null; attempt++) {
      try {
        first = await this.#connect(false);
      } catch (err) {
        if (!options.retry || this.#stop.signal.aborted) throw err;
        const delayMs = this.#backoff(attempt, err instanceof Error ? err.message : String(err));
        this.#o.onRetry?.(err, delayMs);
        await sleep(delayMs, undefined, { signal: this.#stop.signal });
      }
    }
    this.#loop = this.#run(first);
  }

  /** Stops supervising and closes the connection; the stream ends after what is queued. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#client?.close();
    await this.#loop;
    this.#queue.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionItem> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** The delay before retry `attempt` (0-based), announced in the stream with why. */
  #backoff(attempt: number, message: string): number {
    const delayMs = backoffDelayMs(attempt, this.#o.backoff ?? DEFAULT_BACKOFF, this.#o.random);
    this.#queue.push({
      event: 'session',
      state: 'backoff',
      time: new Date(),
      attempt: attempt + 1,
      delayMs,
      message,
    });
    return delayMs;
  }

  async #connect(reconnect: boolean): Promise<EventSubscription> {
    const client = await LibvirtClient.connect({ ...this.#o.open, signal: this.#stop.signal });
    try {
      const sub = await client.subscribe({
        ...(this.#o.events ? { events: this.#o.events } : {}),
        queueSize: this.#o.queueSize ?? 8192,
      });
      // The client is live for the hook: it may act (e.g. recover a VM found dead) before
      // events resume.
      this.#client = client;
      await this.#o.onConnected?.(client, { reconnect });
      this.#connects++;
      this.#queue.push({
        event: 'session',
        state: 'connected',
        time: new Date(),
        attempt: this.#connects,
        uri: client.info.uri,
        handshakeMs: client.info.handshakeMs,
        reconnect,
      });
      return sub;
    } catch (err) {
      if (this.#client === client) this.#client = null;
      client.connection.destroy();
      throw err;
    }
  }

  async #run(first: EventSubscription): Promise<void> {
    let sub: EventSubscription | null = first;
    while (!this.#stop.signal.aborted) {
      if (sub) {
        for await (const item of sub) this.#queue.push(item);
        const client = this.#client;
        this.#client = null;
        if (this.#stop.signal.aborted) break;
        const info: CloseInfo | undefined = await client?.closed;
        this.#queue.push({
          event: 'session',
          state: 'disconnected',
          time: new Date(),
          reason: info?.reason ?? 'unknown',
          message: info?.message ?? 'libvirt connection ended',
        });
        sub = null;
      }
      let lastError = 'reconnecting';
      for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
        const delayMs = this.#backoff(attempt, lastError);
        try {
          await sleep(delayMs, undefined, { signal: this.#stop.signal });
          sub = await this.#connect(true);
          break;
        } catch (err) {
          if (this.#stop.signal.aborted) return;
          lastError = err instanceof Error ? err.message : String(err);
        }
      }
    }
  }
}
