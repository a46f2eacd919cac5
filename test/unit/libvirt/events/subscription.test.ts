/**
 * Events end to end against the fake libvirtd: LibvirtClient.subscribe registers callbacks,
 * events are routed by callback ID to bounded queues that report gaps, survive arriving before
 * their REGISTER reply, and end after draining when the connection closes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { LibvirtClient } from '../../../../agent/libvirt/api.ts';
import { ALL_EVENT_NAMES } from '../../../../agent/libvirt/events/decode.ts';
import type { DomainEvent } from '../../../../agent/libvirt/events/decode.ts';
import type { EventGap } from '../../../../agent/libvirt/events/queue.ts';
import type { EventSubscription } from '../../../../agent/libvirt/events/subscription.ts';
import { EVENT_CASES } from '../../../fixtures/xdr/events.ts';
import { FakeLibvirtd } from '../../../helpers/fake-libvirtd.ts';
import type { FakeOptions, FakePeer } from '../../../helpers/fake-libvirtd.ts';
import {
  cat,
  dom,
  EventProc,
  eventFrame,
  i32,
  opt,
  Proc,
  TEST_UUID,
  u32,
} from '../../../helpers/xdr-builders.ts';

/** Every async test fails instead of hanging when a close, a reply or an event never comes. */
const TEST_TIMEOUT_MS = 10_000;

async function client(
  t: TestContext,
  fakeOptions: FakeOptions = {},
): Promise<{ client: LibvirtClient; peer: FakePeer; fake: FakeLibvirtd }> {
  const fake = await FakeLibvirtd.start(t, fakeOptions);
  const c = await LibvirtClient.connect({
    socketPath: fake.socketPath,
    uri: 'test:///default',
    keepaliveIntervalMs: 0,
  });
  t.after(() => {
    c.connection.destroy();
  });
  return { client: c, peer: await fake.nextPeer(), fake };
}

/** The callback ID the fake handed out for `eventId`. */
function callbackFor(peer: FakePeer, eventId: number): number {
  for (const [cb, id] of peer.callbacks) if (id === eventId) return cb;
  throw new Error(`no callback registered for event ${eventId}`);
}

const lifecycle = (cb: number, event: number, detail = 0): Buffer =>
  cat(i32(cb), dom('test', 1), i32(event), i32(detail));

/** A subscription has one consumer: the tests share one iterator per subscription. */
const iterators = new WeakMap<EventSubscription, AsyncIterator<DomainEvent | EventGap>>();
function iter(sub: EventSubscription): AsyncIterator<DomainEvent | EventGap> {
  let it = iterators.get(sub);
  if (!it) {
    it = sub[Symbol.asyncIterator]();
    iterators.set(sub, it);
  }
  return it;
}

/** Collects `n` items from a subscription, failing after `timeoutMs`. */
async function take(
  sub: EventSubscription,
  n: number,
  timeoutMs = 2000,
): Promise<(DomainEvent | EventGap)[]> {
  const out: (DomainEvent | EventGap)[] = [];
  const it = iter(sub);
  const deadline = sleep(timeoutMs, undefined, { ref: false }).then(() => 'timeout' as const);
  while (out.length < n) {
    const r = await Promise.race([it.next(), deadline]);
    if (r === 'timeout') assert.fail(`got ${out.length} of ${n} events within ${timeoutMs} ms`);
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

/** Everything until the subscription ends. */
async function rest(sub: EventSubscription, timeoutMs = 2000): Promise<(DomainEvent | EventGap)[]> {
  const out: (DomainEvent | EventGap)[] = [];
  const it = iter(sub);
  const deadline = sleep(timeoutMs, undefined, { ref: false }).then(() => 'timeout' as const);
  for (;;) {
    const r = await Promise.race([it.next(), deadline]);
    if (r === 'timeout') assert.fail(`the subscription did not end within ${timeoutMs} ms`);
    if (r.done === true) return out;
    out.push(r.value);
  }
}

const label = (e: DomainEvent | EventGap): string =>
  e.event === 'gap'
    ? `gap:${e.dropped}`
    : e.event === 'lifecycle'
      ? `${e.type}/${e.detail}`
      : e.event;

describe('LibvirtClient.subscribe', () => {
  it(
    'registers one callback per event, for all domains, and delivers decoded events',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const sub = await c.subscribe({ events: ['lifecycle', 'reboot'] });
      const regs = peer.calls.filter((x) => x.proc === Proc.EVENT_REGISTER_ANY);
      assert.deepEqual(
        regs.map((x) => x.payload),
        [cat(i32(0), u32(0)), cat(i32(1), u32(0))],
        'eventID then an absent domain filter',
      );
      assert.deepEqual(sub.callbackIds, [100, 101]);
      peer.event(EventProc.LIFECYCLE, lifecycle(100, 3, 0));
      peer.event(EventProc.REBOOT, i32(101), dom('test', 1));
      const got = await take(sub, 2);
      assert.deepEqual(got.map(label), ['Suspended/Paused', 'reboot']);
      const first = got[0] as DomainEvent;
      assert.equal(first.callbackId, 100);
      assert.deepEqual(first.domain, { name: 'test', uuid: TEST_UUID, id: 1 });
      assert.ok(first.time instanceof Date);
    },
  );

  it(
    'asks the daemon to filter by domain when given one',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      await c.subscribe({
        events: ['lifecycle'],
        domain: { name: 'test', uuid: TEST_UUID, id: 1 },
      });
      const reg = peer.calls.find((x) => x.proc === Proc.EVENT_REGISTER_ANY);
      assert.deepEqual(reg?.payload, cat(i32(0), opt(dom('test', 1))));
    },
  );

  it(
    'delivers every event the client decodes with the right fields',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const sub = await c.subscribe({ events: ALL_EVENT_NAMES });
      assert.equal(sub.callbackIds.length, EVENT_CASES.length);
      for (const ec of EVENT_CASES)
        peer.event(ec.proc, i32(callbackFor(peer, ec.eventId)), ec.payload);
      const got = await take(sub, EVENT_CASES.length);
      for (const [i, ec] of EVENT_CASES.entries()) {
        const e = got[i] as DomainEvent;
        assert.equal(e.event, ec.name);
        const { time, ...fields } = e;
        assert.ok(time instanceof Date);
        assert.deepEqual(fields, {
          callbackId: callbackFor(peer, ec.eventId),
          domain: { name: 'test', uuid: TEST_UUID, id: 1 },
          event: ec.name,
          ...ec.fields,
        });
      }
    },
  );

  it(
    'routes events to the subscription that owns the callback ID',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const a = await c.subscribe({ events: ['lifecycle'] });
      const b = await c.subscribe({ events: ['lifecycle'] });
      const [ida, idb] = [a.callbackIds[0]!, b.callbackIds[0]!];
      assert.notEqual(ida, idb);
      // The daemon sends one message per matching callback (§5.9).
      peer.event(EventProc.LIFECYCLE, lifecycle(idb, 2));
      peer.event(EventProc.LIFECYCLE, lifecycle(ida, 4));
      assert.deepEqual((await take(a, 1)).map(label), ['Resumed/Unpaused']);
      assert.deepEqual((await take(b, 1)).map(label), ['Started/Booted']);
    },
  );

  it(
    'delivers an event that arrives before its REGISTER reply, in order',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      // The daemon emits the first events, then answers REGISTER with the callback ID.
      peer.on(Proc.EVENT_REGISTER_ANY, (call, p) => {
        p.event(EventProc.LIFECYCLE, lifecycle(500, 2));
        p.later(20, () => {
          p.event(EventProc.LIFECYCLE, lifecycle(500, 3));
          p.later(20, () => {
            p.reply(call, i32(500));
            p.event(EventProc.LIFECYCLE, lifecycle(500, 4));
          });
        });
      });
      const sub = await c.subscribe({ events: ['lifecycle'] });
      assert.deepEqual(sub.callbackIds, [500]);
      assert.deepEqual((await take(sub, 3)).map(label), [
        'Started/Booted',
        'Suspended/Paused',
        'Resumed/Unpaused',
      ]);
    },
  );

  it(
    'reports an overflow as a gap, never silently, and keeps going',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const sub = await c.subscribe({ events: ['lifecycle'], queueSize: 2 });
      const cb = sub.callbackIds[0]!;
      for (let i = 0; i < 6; i++) peer.event(EventProc.LIFECYCLE, lifecycle(cb, 3, i % 2));
      await sleep(50);
      assert.equal(sub.dropped, 4);
      const got = await take(sub, 3);
      assert.deepEqual(got.map(label), ['Suspended/Paused', 'Suspended/Migrated', 'gap:4']);
      peer.event(EventProc.LIFECYCLE, lifecycle(cb, 4));
      assert.deepEqual((await take(sub, 1)).map(label), ['Resumed/Unpaused']);
    },
  );

  it(
    'ends after draining when the connection closes: nothing received is lost',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const sub = await c.subscribe({ events: ['lifecycle'], queueSize: 3 });
      const cb = sub.callbackIds[0]!;
      for (const ev of [2, 3, 4, 5, 5]) peer.event(EventProc.LIFECYCLE, lifecycle(cb, ev));
      peer.end();
      assert.equal((await c.closed).reason, 'eof');
      assert.equal(sub.ended, true);
      assert.deepEqual((await rest(sub)).map(label), [
        'Started/Booted',
        'Suspended/Paused',
        'Resumed/Unpaused',
        'gap:2',
      ]);
    },
  );

  it(
    'ends a waiting consumer when the connection drops',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const sub = await c.subscribe({ events: ['lifecycle'] });
      const done = rest(sub);
      await sleep(20);
      peer.destroy();
      assert.deepEqual(await done, []);
    },
  );

  it(
    'delivers the events that precede a protocol violation in the same chunk',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      const sub = await c.subscribe({ events: ['lifecycle'] });
      const cb = sub.callbackIds[0]!;
      peer.write(
        cat(
          eventFrame(EventProc.LIFECYCLE, lifecycle(cb, 2)),
          eventFrame(EventProc.LIFECYCLE, lifecycle(cb, 3)),
          u32(7),
        ),
      );
      assert.equal((await c.closed).reason, 'protocol');
      assert.deepEqual((await rest(sub)).map(label), ['Started/Booted', 'Suspended/Paused']);
    },
  );

  it('deregisters its callbacks on close() and ends', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { client: c, peer } = await client(t);
    const sub = await c.subscribe({ events: ['lifecycle', 'reboot'] });
    const ids = [...sub.callbackIds];
    await sub.close();
    const deregs = peer.calls.filter((x) => x.proc === Proc.EVENT_DEREGISTER_ANY);
    assert.deepEqual(deregs.map((x) => x.payload.readInt32BE(0)).sort(), ids.sort());
    assert.equal(sub.ended, true);
    assert.deepEqual(await rest(sub), []);
    await sub.close(); // idempotent
    assert.equal(peer.calls.filter((x) => x.proc === Proc.EVENT_DEREGISTER_ANY).length, 2);
  });

  it('closes when its signal aborts', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { client: c, peer } = await client(t);
    const ac = new AbortController();
    const sub = await c.subscribe({ events: ['reboot'], signal: ac.signal });
    const done = rest(sub);
    ac.abort();
    assert.deepEqual(await done, []);
    await peer.waitForCalls(Proc.EVENT_DEREGISTER_ANY);
  });

  it(
    'rejects and deregisters what it registered when a registration fails',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { client: c, peer } = await client(t);
      let n = 0;
      peer.on(Proc.EVENT_REGISTER_ANY, (call, p) => {
        if (n++ === 0) p.reply(call, i32(300));
        else p.replyError(call, { code: 1, domain: 7, message: 'unsupported event ID 27' });
      });
      await assert.rejects(
        c.subscribe({ events: ['lifecycle', 'reboot'] }),
        /unsupported event ID 27/,
      );
      const [dereg] = await peer.waitForCalls(Proc.EVENT_DEREGISTER_ANY);
      assert.equal(dereg?.payload.readInt32BE(0), 300);
    },
  );

  it('fails to subscribe on a closed connection', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { client: c, peer } = await client(t);
    peer.destroy();
    await c.closed;
    await assert.rejects(c.subscribe({ events: ['lifecycle'] }), /connection is closed/);
  });
});
