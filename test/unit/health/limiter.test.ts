import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Limiter } from '../../../agent/health/limiter.ts';

describe('Limiter', () => {
  it('runs at most max tasks at once, in FIFO order', async () => {
    const l = new Limiter(2);
    const order: number[] = [];
    let peak = 0;
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        l.run(async () => {
          peak = Math.max(peak, l.running);
          order.push(i);
          await sleep(10);
        }),
      ),
    );
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(l.running, 0);
  });

  it('frees the slot when a task throws', async () => {
    const l = new Limiter(1);
    await assert.rejects(
      l.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await l.run(() => Promise.resolve(7)), 7);
  });

  it('drops a waiter whose signal aborts, without running it', async () => {
    const l = new Limiter(1);
    let ran = false;
    const gate = l.run(() => sleep(50));
    const ac = new AbortController();
    const waiting = l.run(() => {
      ran = true;
      return Promise.resolve();
    }, ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    await gate;
    assert.equal(ran, false);
    assert.equal(l.running, 0);
  });

  it('rejects a bad max', () => {
    assert.throws(() => new Limiter(0), RangeError);
  });
});
