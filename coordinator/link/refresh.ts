/**
 * A one-off snapshot over a second, short connection: for what events do not carry (a new VM's
 * policy level). Its state is never applied as such (the main subscription may be ahead of
 * it); the caller merges only policy levels. At most one in flight per host, and at most one
 * every `minIntervalMs`; a request in between is run once the interval has passed.
 */
import type { Logger } from 'pino';
import { describeError } from '../../shared/errors.ts';
import {
  encodeMessage,
  parseServerMessage,
  PROTOCOL_VERSION,
} from '../../shared/protocol/index.ts';
import type { WireStatus } from '../../shared/protocol/index.ts';
import { dial } from './connect.ts';
import type { Dialer } from './connect.ts';

/** Fetches one-off snapshots of one agent, coalesced and rate-limited. */
export class SnapshotRefresher {
  readonly #dialer: Dialer;
  readonly #log: Logger;
  readonly #minIntervalMs: number;
  readonly #apply: (status: WireStatus) => void;
  #lastMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #closed = false;

  constructor(dialer: Dialer, log: Logger, minIntervalMs: number, apply: (s: WireStatus) => void) {
    this.#dialer = dialer;
    this.#log = log;
    this.#minIntervalMs = minIntervalMs;
    this.#apply = apply;
  }

  /** Asks for a refresh (coalesced). */
  request(): void {
    if (this.#closed || this.#timer !== null) return;
    const wait = Math.max(0, this.#lastMs + this.#minIntervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#running) {
        this.request();
        return;
      }
      void this.#run();
    }, wait);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #run(): Promise<void> {
    this.#running = true;
    this.#lastMs = Date.now();
    try {
      const dialed = await dial(this.#dialer);
      const { ws, early } = dialed;
      dialed.stopBuffering();
      const status = await new Promise<WireStatus | null>((resolve) => {
        const timer = setTimeout(() => {
          resolve(null);
        }, 10_000);
        const on = (data: Buffer) => {
          const r = parseServerMessage(data.toString('utf8'));
          if (!r.ok) {
            resolve(null);
            return;
          }
          if (r.message.type === 'hello')
            ws.send(encodeMessage({ v: PROTOCOL_VERSION, type: 'subscribe', stats: false }));
          if (r.message.type === 'snapshot') {
            clearTimeout(timer);
            resolve(r.message.status);
          }
        };
        ws.on('close', () => {
          resolve(null);
        });
        ws.on('error', () => undefined);
        for (const d of early) on(d);
        ws.on('message', on);
      });
      ws.close(1000, 'refreshed');
      if (status && !this.#closed) this.#apply(status);
    } catch (err) {
      this.#log.debug({ err: describeError(err) }, 'snapshot refresh failed');
    } finally {
      this.#running = false;
    }
  }
}
