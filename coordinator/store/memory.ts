/**
 * The event store in memory: the same semantics as SQLite (unique by host, epoch and seq; the
 * cursor moves with the events), nothing persisted. For tests and benches (`store.kind: memory`),
 * and bounded like the database (retention by age and count).
 */
import { eventRow, matches } from './rows.ts';
import type {
  Cursor,
  EventQuery,
  EventStore,
  StoredEvent,
  StoredSnapshot,
  StoreOp,
} from './types.ts';

/** The in-memory {@link EventStore} (`store.kind: memory`). */
export class MemoryStore implements EventStore {
  readonly kind = 'memory';
  readonly #events: StoredEvent[] = [];
  readonly #keys = new Set<string>();
  readonly #cursors = new Map<string, Cursor>();
  readonly #snapshots = new Map<string, StoredSnapshot>();
  #nextId = 1;

  cursors(): Map<string, Cursor> {
    return new Map(this.#cursors);
  }

  snapshot(host: string): StoredSnapshot | null {
    return this.#snapshots.get(host) ?? null;
  }

  write(ops: readonly StoreOp[], nowMs: number): ReturnType<EventStore['write']> {
    const applied: boolean[] = [];
    const stored: StoredEvent[] = [];
    for (const op of ops) {
      if (op.type === 'snapshot') {
        this.#snapshots.set(op.host, { epoch: op.epoch, seq: op.seq, status: op.status });
        this.#cursors.set(op.host, { epoch: op.epoch, seq: op.seq });
        applied.push(true);
        continue;
      }
      const key = `${op.host}\n${op.epoch}\n${op.event.seq}`;
      if (this.#keys.has(key)) {
        applied.push(false);
        continue;
      }
      this.#keys.add(key);
      const e: StoredEvent = {
        ...eventRow(op.host, op.epoch, op.event, nowMs).stored,
        id: this.#nextId++,
      };
      this.#events.push(e);
      this.#cursors.set(op.host, { epoch: op.epoch, seq: op.event.seq });
      stored.push(e);
      applied.push(true);
    }
    return { applied, stored };
  }

  eventsAfter(host: string, epoch: string, seq: number): StoredEvent[] {
    return this.#events
      .filter((e) => e.host === host && e.epoch === epoch && e.seq > seq)
      .sort((a, b) => a.seq - b.seq);
  }

  query(q: EventQuery): StoredEvent[] {
    const hits = this.#events.filter(
      (e) =>
        matches(e, q) &&
        (q.after === undefined || e.id > q.after) &&
        (q.before === undefined || e.id < q.before),
    );
    return q.after === undefined ? hits.slice(-q.limit) : hits.slice(0, q.limit);
  }

  seqs(host: string, epoch: string): number[] {
    return this.eventsAfter(host, epoch, 0).map((e) => e.seq);
  }

  sweep(o: { maxAgeMs: number; maxEvents: number }, nowMs: number): number {
    const young = this.#events.filter((e) => Date.parse(e.at) >= nowMs - o.maxAgeMs);
    const kept = new Set(young.slice(Math.max(0, young.length - o.maxEvents)));
    const before = this.#events.length;
    for (const e of this.#events)
      if (!kept.has(e)) this.#keys.delete(`${e.host}\n${e.epoch}\n${e.seq}`);
    this.#events.splice(0, this.#events.length, ...kept);
    return before - kept.size;
  }

  stats(): ReturnType<EventStore['stats']> {
    return {
      events: this.#events.length,
      firstId: this.#events[0]?.id ?? null,
      lastId: this.#events.at(-1)?.id ?? null,
    };
  }

  close(): void {
    this.#events.length = 0;
  }
}
