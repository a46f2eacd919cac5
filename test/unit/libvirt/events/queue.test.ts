import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';

import fc from 'fast-check';

import { EventQueue } from '../../../../agent/libvirt/events/queue.ts';
import type { EventGap } from '../../../../agent/libvirt/events/queue.ts';

/** Every async test fails instead of hanging when a close, a reply or an event never comes. */
const TEST_TIMEOUT_MS = 10_000;

type Item = number | EventGap;

/** Drains an ended queue into a list: numbers, and gaps as `gap:<dropped>`. */
async function drain(q: EventQueue<number>): Promise<(number | string)[]> {
  const out: (number | string)[] = [];
  for await (const v of q) out.push(label(v));
  return out;
}

function label(v: Item): number | string {
  return typeof v === 'number' ? v : `gap:${v.dropped}`;
}

describe('EventQueue', () => {
  it('refuses a capacity below 1', () => {
    for (const c of [0, -1, 1.5, NaN]) assert.throws(() => new EventQueue(c), RangeError);
  });

  it(
    'delivers in order and ends after draining what was queued',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const q = new EventQueue<number>(10);
      q.push(1);
      q.push(2);
      q.end();
      q.push(3); // after end: ignored
      assert.equal(q.ended, true);
      assert.deepEqual(await drain(q), [1, 2]);
    },
  );

  it(
    'reports an overflow as one gap, in the place where events were lost',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const q = new EventQueue<number>(2);
      for (let i = 1; i <= 5; i++) q.push(i);
      assert.equal(q.size, 2);
      assert.equal(q.droppedTotal, 3);
      const it = q[Symbol.asyncIterator]();
      assert.deepEqual(label((await it.next()).value as Item), 1);
      q.push(6); // room again: the gap goes in before it
      q.end();
      const rest: (number | string)[] = [];
      for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(label(r.value));
      assert.deepEqual(rest, [2, 'gap:3', 6]);
    },
  );

  it(
    'never ends silently after an overflow: the gap comes before the end',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const q = new EventQueue<number>(1);
      q.push(1);
      q.push(2);
      q.push(3);
      q.end();
      assert.deepEqual(await drain(q), [1, 'gap:2']);
    },
  );

  it(
    'reports a gap even when the consumer catches up with no newer event',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const q = new EventQueue<number>(1);
      q.push(1);
      q.push(2);
      const it = q[Symbol.asyncIterator]();
      assert.equal((await it.next()).value, 1);
      assert.equal(label((await it.next()).value as Item), 'gap:1');
    },
  );

  it(
    'wakes a waiting consumer and ends it when the queue ends',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const q = new EventQueue<number>(4);
      const it = q[Symbol.asyncIterator]();
      const next = it.next();
      await setImmediate();
      q.push(42);
      assert.deepEqual(await next, { value: 42, done: false });
      const last = it.next();
      await setImmediate();
      q.end();
      assert.deepEqual(await last, { value: undefined, done: true });
      assert.deepEqual(await it.next(), { value: undefined, done: true });
    },
  );

  it('has a single consumer', () => {
    const q = new EventQueue<number>(1);
    q[Symbol.asyncIterator]();
    assert.throws(() => q[Symbol.asyncIterator](), /single consumer/);
  });

  it(
    'ends and forgets queued events when the consumer breaks out',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const q = new EventQueue<number>(10);
      for (let i = 0; i < 5; i++) q.push(i);
      for await (const v of q) {
        assert.equal(v, 0);
        break;
      }
      assert.equal(q.ended, true);
      assert.equal(q.size, 0);
    },
  );

  it('loses nothing but what it reports (property)', { timeout: TEST_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.constant('push' as const), fc.constant('take' as const)), {
          maxLength: 60,
        }),
        async (capacity, script) => {
          const q = new EventQueue<number>(capacity);
          const it = q[Symbol.asyncIterator]();
          const got: Item[] = [];
          let next = 0;
          let waiting: Promise<IteratorResult<Item>> | null = null;
          for (const step of script) {
            if (step === 'push') q.push(next++);
            else if (waiting === null) {
              waiting = it.next();
              await setImmediate();
            }
            if (waiting) {
              const settled = await Promise.race([waiting, setImmediate().then(() => null)]);
              if (settled) {
                got.push(settled.value as Item);
                waiting = null;
              }
            }
          }
          q.end();
          if (waiting) {
            const r = await waiting;
            if (r.done !== true) got.push(r.value);
          }
          for (let r = await it.next(); r.done !== true; r = await it.next()) got.push(r.value);
          // Every event pushed is either delivered, in order, or counted in a gap in its place.
          let expect = 0;
          let droppedSeen = 0;
          for (const v of got) {
            if (typeof v === 'number') {
              assert.ok(v >= expect, `out of order: ${v} after ${expect}`);
              assert.ok(v === expect, `lost ${v - expect} events without a gap`);
              expect = v + 1;
            } else {
              assert.ok(v.dropped > 0);
              expect += v.dropped;
              droppedSeen += v.dropped;
            }
          }
          assert.equal(expect, next, 'every pushed event is accounted for');
          assert.equal(droppedSeen, q.droppedTotal);
        },
      ),
      { numRuns: 150 },
    );
  });
});
