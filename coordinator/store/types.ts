/**
 * The coordinator's event store: every agent event it received, once (deduplicated by agent,
 * epoch and seq), each agent's cursor (the epoch and seq to resume from) and its last snapshot.
 * The cursor moves in the same transaction as the events it covers, so after a crash the
 * coordinator resumes exactly where its stored history ends: nothing lost, nothing twice.
 */
import type { EventMessage, WireStatus } from '../../shared/protocol/index.ts';

/** Where an agent's stream is: resume with `{ fromSeq: seq, epoch }`. */
export interface Cursor {
  readonly epoch: string;
  readonly seq: number;
}

/** One stored event. */
export interface StoredEvent {
  /** Global, increasing: the API pages by it. */
  readonly id: number;
  /** The host's id (the config's `agents[].id`). */
  readonly host: string;
  readonly epoch: string;
  /** The agent's seq. */
  readonly seq: number;
  /** When it happened, by the agent's clock (the event's `at`). */
  readonly at: string;
  /** When the coordinator stored it (ms since the epoch). */
  readonly receivedMs: number;
  readonly kind: EventMessage['kind'];
  /** The domain, for domain and decision events. */
  readonly uuid: string | null;
  readonly name: string | null;
  readonly event: EventMessage;
}

/** A host's last snapshot, as stored. */
export interface StoredSnapshot {
  readonly epoch: string;
  readonly seq: number;
  readonly status: WireStatus;
}

/** One write: a snapshot (moves the cursor to its seq) or events (each stored once). */
export type StoreOp =
  | {
      readonly type: 'snapshot';
      readonly host: string;
      readonly epoch: string;
      readonly seq: number;
      readonly status: WireStatus;
    }
  | {
      readonly type: 'event';
      readonly host: string;
      readonly epoch: string;
      readonly event: EventMessage;
    };

/** Filters of {@link EventStore.query}. */
export interface EventQuery {
  readonly host?: string;
  /** A domain UUID or name. */
  readonly vm?: string;
  readonly kind?: EventMessage['kind'];
  /** Events that happened at or after / before this time (ms). */
  readonly sinceMs?: number;
  readonly untilMs?: number;
  /** Page forward: ids above this (ascending). */
  readonly after?: number;
  /** Page backward: ids below this. */
  readonly before?: number;
  /** @default 100 */
  readonly limit: number;
}

/** The store's interface: SQLite (sqlite.ts) or memory (memory.ts). Synchronous. */
export interface EventStore {
  readonly kind: 'sqlite' | 'memory';
  /** Every host's cursor. */
  cursors(): Map<string, Cursor>;
  snapshot(host: string): StoredSnapshot | null;
  /**
   * Applies the ops in one transaction, in order. Returns the events that were new (a
   * duplicate of an already stored agent/epoch/seq is skipped), with their ids; and for each
   * op whether it took effect (a snapshot always does).
   */
  write(ops: readonly StoreOp[], nowMs: number): { applied: boolean[]; stored: StoredEvent[] };
  /** Events of one host and epoch after `seq`, ascending (rebuilding state after a restart). */
  eventsAfter(host: string, epoch: string, seq: number): StoredEvent[];
  /** Events by filter, ascending by id; `before` without `after` gives the newest page. */
  query(q: EventQuery): StoredEvent[];
  /** Stored seqs of one host and epoch, ascending (tests and the bench check density). */
  seqs(host: string, epoch: string): number[];
  /** Deletes events past the retention; returns how many. */
  sweep(o: { readonly maxAgeMs: number; readonly maxEvents: number }, nowMs: number): number;
  /** Count and id range. */
  stats(): {
    readonly events: number;
    readonly firstId: number | null;
    readonly lastId: number | null;
  };
  close(): void;
}
