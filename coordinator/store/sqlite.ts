/**
 * The event store in SQLite (better-sqlite3, WAL). Events are unique by (host, epoch, seq):
 * `INSERT OR IGNORE` drops a duplicate, and the host's cursor moves in the same transaction,
 * so a crash never separates the two. WAL with `synchronous = NORMAL`: a committed transaction
 * survives a process crash (SIGKILL); after a power loss the last ones may roll back, cursor
 * included, and are then fetched again from the agent's journal.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventMessage, WireStatus } from '../../shared/protocol/index.ts';
import { openDatabase } from './binding.ts';
import type { Database, Statement } from './binding.ts';
import { eventRow } from './rows.ts';
import type {
  Cursor,
  EventQuery,
  EventStore,
  StoredEvent,
  StoredSnapshot,
  StoreOp,
} from './types.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  host TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
  at TEXT NOT NULL, at_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  kind TEXT NOT NULL, uuid TEXT, name TEXT, body TEXT NOT NULL,
  UNIQUE (host, epoch, seq)
);
CREATE INDEX IF NOT EXISTS events_host_id ON events (host, id);
CREATE INDEX IF NOT EXISTS events_uuid_id ON events (uuid, id);
CREATE INDEX IF NOT EXISTS events_at ON events (at_ms);
CREATE TABLE IF NOT EXISTS cursors (
  host TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
  host TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);`;

interface Row {
  id: number;
  host: string;
  epoch: string;
  seq: number;
  at: string;
  received_ms: number;
  kind: EventMessage['kind'];
  uuid: string | null;
  name: string | null;
  body: string;
}

function toStored(r: Row): StoredEvent {
  return {
    id: r.id,
    host: r.host,
    epoch: r.epoch,
    seq: r.seq,
    at: r.at,
    receivedMs: r.received_ms,
    kind: r.kind,
    uuid: r.uuid,
    name: r.name,
    event: JSON.parse(r.body) as EventMessage,
  };
}

/** The SQLite event store; `file` is created (and its directory, 0700) when missing. */
export class SqliteStore implements EventStore {
  readonly kind = 'sqlite';
  readonly #db: Database;
  readonly #insert: Statement;
  readonly #cursor: Statement;
  readonly #snap: Statement;
  readonly #tx: (ops: readonly StoreOp[], nowMs: number) => ReturnType<EventStore['write']>;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = openDatabase(file);
    this.#db = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO events (host, epoch, seq, at, at_ms, received_ms, kind, uuid, name, body)
       VALUES (@host, @epoch, @seq, @at, @atMs, @receivedMs, @kind, @uuid, @name, @body)`,
    );
    this.#cursor = db.prepare(
      `INSERT INTO cursors (host, epoch, seq, updated_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (host) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq,
       updated_ms = excluded.updated_ms`,
    );
    this.#snap = db.prepare(
      `INSERT INTO snapshots (host, epoch, seq, body, received_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (host) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq,
       body = excluded.body, received_ms = excluded.received_ms`,
    );
    this.#tx = db.transaction((ops: readonly StoreOp[], nowMs: number) => {
      const applied: boolean[] = [];
      const stored: StoredEvent[] = [];
      for (const op of ops) {
        if (op.type === 'snapshot') {
          this.#snap.run(op.host, op.epoch, op.seq, JSON.stringify(op.status), nowMs);
          this.#cursor.run(op.host, op.epoch, op.seq, nowMs);
          applied.push(true);
          continue;
        }
        const row = eventRow(op.host, op.epoch, op.event, nowMs);
        const r = this.#insert.run(row);
        applied.push(r.changes === 1);
        if (r.changes !== 1) continue;
        this.#cursor.run(op.host, op.epoch, op.event.seq, nowMs);
        stored.push({ ...row.stored, id: Number(r.lastInsertRowid) });
      }
      return { applied, stored };
    });
  }

  cursors(): Map<string, Cursor> {
    const rows = this.#db.prepare('SELECT host, epoch, seq FROM cursors').all() as {
      host: string;
      epoch: string;
      seq: number;
    }[];
    return new Map(rows.map((r) => [r.host, { epoch: r.epoch, seq: r.seq }]));
  }

  snapshot(host: string): StoredSnapshot | null {
    const r = this.#db
      .prepare('SELECT epoch, seq, body FROM snapshots WHERE host = ?')
      .get(host) as { epoch: string; seq: number; body: string } | undefined;
    return r ? { epoch: r.epoch, seq: r.seq, status: JSON.parse(r.body) as WireStatus } : null;
  }

  write(ops: readonly StoreOp[], nowMs: number): ReturnType<EventStore['write']> {
    return this.#tx(ops, nowMs);
  }

  eventsAfter(host: string, epoch: string, seq: number): StoredEvent[] {
    const rows = this.#db
      .prepare('SELECT * FROM events WHERE host = ? AND epoch = ? AND seq > ? ORDER BY seq')
      .all(host, epoch, seq) as Row[];
    return rows.map(toStored);
  }

  query(q: EventQuery): StoredEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.host !== undefined) {
      where.push('host = ?');
      args.push(q.host);
    }
    if (q.vm !== undefined) {
      where.push('(uuid = ? OR name = ?)');
      args.push(q.vm, q.vm);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    if (q.sinceMs !== undefined) {
      where.push('at_ms >= ?');
      args.push(q.sinceMs);
    }
    if (q.untilMs !== undefined) {
      where.push('at_ms < ?');
      args.push(q.untilMs);
    }
    if (q.after !== undefined) {
      where.push('id > ?');
      args.push(q.after);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      args.push(q.before);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const newest = q.after === undefined;
    const rows = this.#db
      .prepare(`SELECT * FROM events ${cond} ORDER BY id ${newest ? 'DESC' : 'ASC'} LIMIT ?`)
      .all(...args, q.limit) as Row[];
    const out = rows.map(toStored);
    if (newest) out.reverse();
    return out;
  }

  seqs(host: string, epoch: string): number[] {
    const rows = this.#db
      .prepare('SELECT seq FROM events WHERE host = ? AND epoch = ? ORDER BY seq')
      .all(host, epoch) as { seq: number }[];
    return rows.map((r) => r.seq);
  }

  sweep(o: { maxAgeMs: number; maxEvents: number }, nowMs: number): number {
    const del = this.#db.prepare(
      'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at_ms < ? OR id <= ? ORDER BY id LIMIT 10000)',
    );
    const edge = this.#db
      .prepare('SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?')
      .get(o.maxEvents) as { id: number } | undefined;
    let total = 0;
    for (;;) {
      const n = del.run(nowMs - o.maxAgeMs, edge?.id ?? 0).changes;
      total += n;
      if (n < 10_000) return total;
    }
  }

  stats(): ReturnType<EventStore['stats']> {
    const r = this.#db
      .prepare('SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM events')
      .get() as { n: number; lo: number | null; hi: number | null };
    return { events: r.n, firstId: r.lo, lastId: r.hi };
  }

  close(): void {
    this.#db.close();
  }
}
