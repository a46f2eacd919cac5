// The event stores: unique by (host, epoch, seq), the cursor moves with the events in one
// transaction, everything survives a reopen (SQLite), queries filter and page, retention bounds.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { MemoryStore } from '../../../coordinator/store/memory.ts';
import { SqliteStore } from '../../../coordinator/store/sqlite.ts';
import type { EventStore, StoreOp } from '../../../coordinator/store/types.ts';
import { UUID_A, UUID_B } from '../stream/fake-agent.ts';
import { domainEvent, wireStatus } from './fixtures.ts';

const EPOCH = 'epoch-1';

const ev = (
  host: string,
  seq: number,
  o: { uuid?: string; name?: string; atMs?: number; epoch?: string } = {},
): StoreOp => ({
  type: 'event',
  host,
  epoch: o.epoch ?? EPOCH,
  event: domainEvent(seq, o.uuid, o.name, o.atMs),
});

async function sqlite(t: TestContext): Promise<{ store: SqliteStore; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vft-coord-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'events.db');
  const store = new SqliteStore(file);
  t.after(() => {
    store.close();
  });
  return { store, file };
}

for (const kind of ['sqlite', 'memory'] as const) {
  const open = async (t: TestContext): Promise<EventStore> =>
    kind === 'sqlite' ? (await sqlite(t)).store : new MemoryStore();

  describe(`${kind} event store`, () => {
    it('stores each (host, epoch, seq) once and moves the cursor with it', async (t) => {
      const s = await open(t);
      const r1 = s.write([ev('h1', 1), ev('h1', 2), ev('h2', 1)], 1000);
      assert.deepEqual(r1.applied, [true, true, true]);
      assert.deepEqual(
        r1.stored.map((e) => [e.host, e.seq]),
        [
          ['h1', 1],
          ['h1', 2],
          ['h2', 1],
        ],
      );
      const r2 = s.write([ev('h1', 2), ev('h1', 3), ev('h1', 1, { epoch: 'epoch-2' })], 2000);
      assert.deepEqual(r2.applied, [false, true, true]);
      assert.deepEqual(s.seqs('h1', EPOCH), [1, 2, 3]);
      assert.deepEqual(s.cursors().get('h1'), { epoch: 'epoch-2', seq: 1 });
      assert.deepEqual(s.cursors().get('h2'), { epoch: EPOCH, seq: 1 });
      assert.equal(s.stats().events, 5);
    });

    it('keeps the last snapshot and the events after it', async (t) => {
      const s = await open(t);
      const status = wireStatus();
      s.write(
        [{ type: 'snapshot', host: 'h1', epoch: EPOCH, seq: 4, status }, ev('h1', 5), ev('h1', 6)],
        1,
      );
      assert.equal(s.snapshot('h1')?.seq, 4);
      assert.equal(s.snapshot('h1')?.status.domains.length, 2);
      assert.deepEqual(
        s.eventsAfter('h1', EPOCH, 4).map((e) => e.seq),
        [5, 6],
      );
      assert.deepEqual(s.cursors().get('h1'), { epoch: EPOCH, seq: 6 });
    });

    it('filters by host, VM, kind and time, and pages by id both ways', async (t) => {
      const s = await open(t);
      const ops = Array.from({ length: 10 }, (_, i) =>
        ev(i % 2 ? 'h2' : 'h1', i + 1, {
          uuid: i < 5 ? UUID_A : UUID_B,
          name: i < 5 ? 'web-1' : 'db-1',
          atMs: 1_000_000 + i * 1000,
        }),
      );
      s.write(ops, 5);
      assert.deepEqual(
        s.query({ host: 'h1', limit: 100 }).map((e) => e.seq),
        [1, 3, 5, 7, 9],
      );
      assert.deepEqual(
        s.query({ vm: 'db-1', limit: 100 }).map((e) => e.seq),
        [6, 7, 8, 9, 10],
      );
      assert.deepEqual(
        s.query({ vm: UUID_A.toUpperCase(), limit: 2 }).map((e) => e.seq),
        [4, 5],
      );
      assert.deepEqual(
        s.query({ sinceMs: 1_008_000, limit: 100 }).map((e) => e.seq),
        [9, 10],
      );
      assert.deepEqual(s.query({ kind: 'health', limit: 100 }), []);
      const first = s.query({ after: 0, limit: 3 });
      assert.deepEqual(
        first.map((e) => e.seq),
        [1, 2, 3],
      );
      const next = s.query({ after: first.at(-1)?.id ?? 0, limit: 3 });
      assert.deepEqual(
        next.map((e) => e.seq),
        [4, 5, 6],
      );
      const older = s.query({ before: next[0]?.id ?? 0, limit: 2 });
      assert.deepEqual(
        older.map((e) => e.seq),
        [2, 3],
      );
    });

    it('drops events past the retention, by age and by count', async (t) => {
      const s = await open(t);
      const now = 10_000_000;
      s.write(
        Array.from({ length: 20 }, (_, i) => ev('h1', i + 1, { atMs: now - (20 - i) * 60_000 })),
        now,
      );
      assert.equal(s.sweep({ maxAgeMs: 10 * 60_000, maxEvents: 1000 }, now), 10);
      assert.deepEqual(s.seqs('h1', EPOCH), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      assert.equal(s.sweep({ maxAgeMs: 3_600_000, maxEvents: 4 }, now), 6);
      assert.deepEqual(s.seqs('h1', EPOCH), [17, 18, 19, 20]);
    });
  });
}

describe('sqlite event store on disk', () => {
  it('keeps events, cursors and snapshots across a reopen, and still refuses duplicates', async (t) => {
    const { store, file } = await sqlite(t);
    store.write(
      [
        { type: 'snapshot', host: 'h1', epoch: EPOCH, seq: 1, status: wireStatus() },
        ev('h1', 2),
        ev('h1', 3),
      ],
      1,
    );
    store.close();
    const again = new SqliteStore(file);
    t.after(() => {
      again.close();
    });
    assert.deepEqual(again.cursors().get('h1'), { epoch: EPOCH, seq: 3 });
    assert.equal(again.snapshot('h1')?.seq, 1);
    assert.deepEqual(again.write([ev('h1', 3), ev('h1', 4)], 2).applied, [false, true]);
    assert.deepEqual(again.seqs('h1', EPOCH), [2, 3, 4]);
  });

  it('rolls back a whole batch when one write fails: cursor and events stay together', async (t) => {
    const { store } = await sqlite(t);
    store.write([ev('h1', 1)], 1);
    const bad = {
      type: 'event',
      host: 'h1',
      epoch: EPOCH,
      event: { ...domainEvent(3), uuid: 42 },
    } as unknown as StoreOp;
    assert.throws(() => store.write([ev('h1', 2), bad], 2));
    assert.deepEqual(store.seqs('h1', EPOCH), [1]);
    assert.deepEqual(store.cursors().get('h1'), { epoch: EPOCH, seq: 1 });
  });
});
