import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isType } from '../../helpers/stream-client.ts';
import type { StreamClient } from '../../helpers/stream-client.ts';
import { UUID_A } from './fake-agent.ts';
import { ManualClock, startServer, waitUntil } from './setup.ts';
import type { Harness } from './setup.ts';

const GAP = 64 * 1024;
const LONG = 'x'.repeat(250); // ~500-byte events fill buffers sooner

/** Fires events in batches until the server marks the (paused) client as lagging. */
async function fillUntilLagging(h: Harness): Promise<number> {
  for (let i = 0; i < 400; i++) {
    for (let k = 0; k < 250; k++) h.agent.transition(UUID_A, k % 2 ? 'Paused' : 'Running', LONG);
    await h.server.flush();
    if (h.server.stats().clients.some((c) => c.lagging)) return h.server.stats().journal?.seq ?? 0;
  }
  throw new Error('the paused client never lagged');
}

/** The client's event seqs are dense except across one gap, whose snapshot they continue from. */
function checkSequence(c: StreamClient): void {
  let expect: number | null = null;
  for (const m of c.messages) {
    if (m.type === 'snapshot') expect = m.seq + 1;
    if (m.type === 'gap') assert.equal(m.from, expect, 'the gap starts right after the last event');
    if (m.type === 'event') {
      assert.equal(m.seq, expect, 'no event lost or repeated');
      expect = m.seq + 1;
    }
  }
}

describe('stream backpressure', () => {
  it('skips events for a slow client, then sends a gap and a fresh snapshot once it drains; memory stays bounded', async (t) => {
    const h = await startServer(t, {
      config: {
        backpressure: {
          coalesceBytes: 16 * 1024,
          gapBytes: GAP,
          slowCloseMs: 600_000,
          checkIntervalMs: 10,
        },
        journal: { maxEvents: 1_000_000, maxBytes: 1 << 30 },
      },
    });
    const slow = await h.connect();
    const fast = await h.connect();
    slow.subscribe();
    fast.subscribe();
    await slow.waitFor(isType('subscribed'));
    await fast.waitFor(isType('subscribed'));
    slow.ws.pause();
    const lagAt = await fillUntilLagging(h);
    for (let k = 0; k < 500; k++) h.agent.transition(UUID_A, 'Running', LONG); // skipped, not queued
    await h.server.flush();
    const stuck = h.server.stats().clients.find((c) => c.lagging);
    assert.ok(
      stuck && stuck.maxBuffered <= GAP + 2048,
      `buffered at most ${stuck?.maxBuffered} bytes`,
    );
    assert.ok(stuck.skipped >= 500);
    slow.ws.resume();
    const gap = await slow.waitFor(isType('gap'), 20_000);
    const snap = await slow.waitFor(isType('snapshot'), 5_000, slow.messages.indexOf(gap));
    assert.equal(gap.reason, 'slow-consumer');
    assert.equal(gap.to, snap.seq);
    assert.ok(gap.from !== null && gap.from <= lagAt);
    h.agent.transition(UUID_A, 'Crashed');
    await slow.waitFor((m) => m.type === 'event' && m.seq === snap.seq + 1);
    checkSequence(slow);
    // The client that kept reading got everything up to the same point, in order.
    await fast.waitFor((m) => m.type === 'event' && m.seq === snap.seq + 1, 20_000);
    checkSequence(fast);
    assert.deepEqual([slow.invalid, fast.invalid], [[], []]);
  });

  it('tells a client that stays stuck, then closes it with 1013', async (t) => {
    const clock = new ManualClock();
    const h = await startServer(t, {
      clock: clock.fn,
      config: {
        closeTimeoutMs: 30_000,
        backpressure: {
          coalesceBytes: 16 * 1024,
          gapBytes: GAP,
          slowCloseMs: 30_000,
          checkIntervalMs: 10,
        },
        journal: { maxEvents: 1_000_000, maxBytes: 1 << 30 },
      },
    });
    const c = await h.connect();
    c.subscribe();
    await c.waitFor(isType('subscribed'));
    c.ws.pause();
    await fillUntilLagging(h);
    await waitUntil(() => h.server.stats().clients[0]?.stuckForMs === 0); // a check saw it stuck
    clock.advance(29_999);
    await waitUntil(() => h.server.stats().clients[0]?.stuckForMs === 29_999);
    assert.equal(h.server.stats().connections, 1, 'not closed before slowCloseMs');
    clock.advance(1);
    await h.logs.waitFor(
      (l) => l['msg'] === 'stream client closed by the agent' && l['closeCode'] === 1013,
    );
    c.ws.resume();
    const { code } = await c.closed;
    assert.equal(code, 1013);
    const fatal = c.messages.filter(isType('error')).find((e) => e.fatal);
    assert.equal(fatal?.code, 'VFT_ERR_STREAM_SLOW_CONSUMER');
  });
});
