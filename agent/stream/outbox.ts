/**
 * One client's outgoing side, with backpressure (reliability.md §2.2, R5). Never an unbounded
 * buffer, never a silent drop:
 * - above `coalesceBytes` buffered, stats are merged per VM (latest value per key) instead of sent;
 * - above `gapBytes`, events are skipped, and once the client has drained below `coalesceBytes`
 *   it gets a `gap` naming the skipped seqs and a fresh `snapshot` that replaces them (the
 *   events also stay in the journal: a reconnect can resume them exactly);
 * - still above `gapBytes` after `slowCloseMs`: the client is told and closed with 1013;
 * - control messages (hello, acks, results, errors, pongs) are always sent: they are few,
 *   bounded by the command rate limit, and an action's result is never dropped.
 */
import type { WebSocket } from 'ws';
import { encodeMessage, PROTOCOL_VERSION } from '../../shared/protocol/index.ts';
import type { GapMessage, StatsMessage } from '../../shared/protocol/index.ts';
import type { JournalEntry } from './journal.ts';
import type { Clock } from './rate-limit.ts';

/** Thresholds, in bytes of `ws.bufferedAmount`. */
export interface OutboxLimits {
  readonly coalesceBytes: number;
  readonly gapBytes: number;
  readonly slowCloseMs: number;
}

/** What the outbox asks of the server. */
export interface OutboxHooks {
  /** A fresh snapshot message and the committed seq it reflects. */
  snapshot(): { readonly seq: number; readonly line: string };
  /** The last committed seq (for stats). */
  seq(): number;
  /** The client stayed above `gapBytes` for `slowCloseMs`. */
  tooSlow(bufferedBytes: number): void;
}

type StatsValues = StatsMessage['domains'][number]['values'];

export class Outbox {
  readonly #ws: WebSocket;
  readonly #limits: OutboxLimits;
  readonly #clock: Clock;
  readonly #hooks: OutboxHooks;
  readonly #stats = new Map<string, Record<string, StatsValues[string]>>();
  #subscribed = false;
  #sentSeq = 0;
  #lagFrom: number | null = null;
  #overSince: number | null = null;
  #maxBuffered = 0;
  #gaps = 0;
  #skipped = 0;

  constructor(ws: WebSocket, limits: OutboxLimits, clock: Clock, hooks: OutboxHooks) {
    this.#ws = ws;
    this.#limits = limits;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /** Largest `bufferedAmount` seen right after a send. */
  get maxBuffered(): number {
    return this.#maxBuffered;
  }
  get gaps(): number {
    return this.#gaps;
  }
  /** Events skipped because the client was slow (each covered by a gap and a snapshot). */
  get skipped(): number {
    return this.#skipped;
  }
  get subscribed(): boolean {
    return this.#subscribed;
  }
  get lagging(): boolean {
    return this.#lagFrom !== null;
  }
  /** How long (clock ms) the client has been above `gapBytes`, null when it is not. */
  get stuckForMs(): number | null {
    return this.#overSince === null ? null : this.#clock() - this.#overSince;
  }

  /** From now on events after `seq` are delivered. */
  subscribe(seq: number): void {
    this.#subscribed = true;
    this.#sentSeq = seq;
  }

  /** Sends a control message now, whatever is buffered. */
  control(line: string): void {
    this.#send(line);
  }

  /** Delivers a committed event, or skips it (and remembers to say so) when the client is slow. */
  event(e: JournalEntry): void {
    if (!this.#subscribed || e.msg.seq <= this.#sentSeq) return;
    if (this.#lagFrom === null && this.#ws.bufferedAmount > this.#limits.gapBytes)
      this.#lagFrom = e.msg.seq;
    if (this.#lagFrom !== null) {
      this.#skipped++;
      return;
    }
    this.#send(e.line);
    this.#sentSeq = e.msg.seq;
  }

  /** Queues stats deltas; sent at once unless the client is slow, then merged per VM. */
  stats(domains: StatsMessage['domains']): void {
    if (!this.#subscribed) return;
    for (const d of domains) this.#stats.set(d.uuid, { ...this.#stats.get(d.uuid), ...d.values });
    this.#flushStats();
  }

  /** Periodic: resync a lagging client that drained, flush stats, close one that stays stuck. */
  check(): void {
    const buffered = this.#ws.bufferedAmount;
    if (buffered > this.#limits.gapBytes) {
      this.#overSince ??= this.#clock();
      if (this.#clock() - this.#overSince >= this.#limits.slowCloseMs)
        this.#hooks.tooSlow(buffered);
      return;
    }
    this.#overSince = null;
    if (this.#lagFrom !== null && buffered <= this.#limits.coalesceBytes)
      this.#resync(this.#lagFrom);
    this.#flushStats();
  }

  #resync(from: number): void {
    const snap = this.#hooks.snapshot();
    const gap: GapMessage = {
      v: PROTOCOL_VERSION,
      type: 'gap',
      reason: 'slow-consumer',
      from,
      to: snap.seq,
      message: `The client read too slowly: events ${from}–${snap.seq} were skipped; the snapshot at ${snap.seq} replaces them`,
    };
    this.#send(encodeMessage(gap));
    this.#send(snap.line);
    this.#sentSeq = snap.seq;
    this.#lagFrom = null;
    this.#gaps++;
  }

  #flushStats(): void {
    if (this.#stats.size === 0 || this.#lagFrom !== null) return;
    if (this.#ws.bufferedAmount > this.#limits.coalesceBytes) return;
    const msg: StatsMessage = {
      v: PROTOCOL_VERSION,
      type: 'stats',
      seq: this.#hooks.seq(),
      at: new Date().toISOString(),
      domains: [...this.#stats].map(([uuid, values]) => ({ uuid, values })),
    };
    this.#stats.clear();
    this.#send(encodeMessage(msg));
  }

  #send(line: string): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(line);
    if (this.#ws.bufferedAmount > this.#maxBuffered) this.#maxBuffered = this.#ws.bufferedAmount;
  }
}
