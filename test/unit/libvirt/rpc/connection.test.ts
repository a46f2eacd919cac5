/**
 * RpcConnection against the fake libvirtd over a real UNIX socket: serials, concurrency
 * bound and queue, deadlines and AbortSignal, close, keepalive, routing by type, and every
 * protocol violation being fatal.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  LibvirtAbortError,
  LibvirtClosedError,
  LibvirtProtocolError,
  LibvirtRemoteError,
  LibvirtTimeoutError,
} from '../../../../agent/libvirt/errors.ts';
import * as D from '../../../../agent/libvirt/procedures/domain.ts';
import type { Header } from '../../../../agent/libvirt/protocol/header.ts';
import { RpcConnection } from '../../../../agent/libvirt/rpc/connection.ts';
import type { RpcConnectionOptions } from '../../../../agent/libvirt/rpc/connection.ts';
import { KEEPALIVE_PING, KEEPALIVE_PONG } from '../../../fixtures/xdr/rpc-examples.ts';
import { FakeLibvirtd } from '../../../helpers/fake-libvirtd.ts';
import type { FakePeer } from '../../../helpers/fake-libvirtd.ts';
import {
  cat,
  dom,
  errorReply,
  eventFrame,
  frame,
  hex,
  i32,
  PROG_KEEPALIVE,
  PROG_QEMU,
  reply,
  S_CONTINUE,
  str,
  T_MESSAGE,
  T_REPLY,
  T_REPLY_WITH_FDS,
  T_STREAM,
  u32,
} from '../../../helpers/xdr-builders.ts';
import type { ParsedFrame } from '../../../helpers/xdr-builders.ts';

/** Every async test fails instead of hanging when a close, a reply or an event never comes. */
const TEST_TIMEOUT_MS = 10_000;

const LOOKUP = 23; // DOMAIN_LOOKUP_BY_NAME: string name → dom, so each reply names its call

/** The name a DOMAIN_LOOKUP_BY_NAME call asked for. */
const nameOf = (c: ParsedFrame): string =>
  c.payload.toString('utf8', 4, 4 + c.payload.readUInt32BE(0));

async function connect(
  t: TestContext,
  options: RpcConnectionOptions = {},
  fakeOptions: Parameters<typeof FakeLibvirtd.start>[1] = {},
): Promise<{ rpc: RpcConnection; peer: FakePeer; fake: FakeLibvirtd }> {
  const fake = await FakeLibvirtd.start(t, fakeOptions);
  const socket = createConnection(fake.socketPath);
  await once(socket, 'connect');
  const rpc = new RpcConnection(socket, { keepaliveIntervalMs: 0, ...options });
  t.after(() => {
    rpc.destroy('client', null);
  });
  const peer = await fake.nextPeer();
  return { rpc, peer, fake };
}

/** Settles to the value or the error, without an unhandled rejection. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('RpcConnection calls', () => {
  it(
    'matches many replies that come back out of order to their calls by serial',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 8 });
      const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      const calls = names.map((n) => rpc.call(D.domainLookupByName, n));
      const seen = await peer.waitForCalls(LOOKUP, 8);
      assert.deepEqual(seen.map(nameOf), names);
      assert.deepEqual(
        seen.map((c) => c.serial),
        [1, 2, 3, 4, 5, 6, 7, 8],
        'serials start at 1 and count up',
      );
      // The daemon's own order from §8.1: 56, 59, 58, 60, 57, 61, 63, 62.
      for (const i of [0, 3, 2, 4, 1, 5, 7, 6]) {
        const c = seen[i]!;
        peer.reply(c, dom(nameOf(c), i));
      }
      const got = await Promise.all(calls);
      assert.deepEqual(
        got.map((d) => [d.name, d.id]),
        names.map((n, i) => [n, i]),
      );
      assert.equal(rpc.inFlight, 0);
    },
  );

  it(
    'keeps at most 4 calls on the wire by default and sends the queued ones as slots free',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t);
      const names = 'abcdefghij'.split('');
      const calls = names.map((n) => rpc.call(D.domainLookupByName, n));
      await peer.waitForCalls(LOOKUP, 4);
      await sleep(30);
      assert.equal(peer.calls.length, 4, 'the fifth call waits for a free slot');
      assert.equal(rpc.inFlight, 4);
      assert.equal(rpc.queued, 6);

      // Free one slot: exactly one more call goes out, the next in issue order.
      const first = peer.calls[0]!;
      peer.reply(first, dom(nameOf(first)));
      const fifth = (await peer.waitForCalls(LOOKUP, 5))[4]!;
      assert.equal(nameOf(fifth), 'e');
      await sleep(10);
      assert.equal(peer.calls.length, 5);

      // Answer everything as it arrives.
      peer.on(LOOKUP, (c, p) => {
        p.later(1, () => {
          p.reply(c, dom(nameOf(c)));
        });
      });
      for (const c of [...peer.unanswered.values()]) peer.reply(c, dom(nameOf(c)));
      const got = await Promise.all(calls);
      assert.deepEqual(
        got.map((d) => d.name),
        names,
      );
      assert.equal(peer.maxConcurrent, 4, 'the daemon never saw more than 4 calls at once');
      assert.deepEqual(peer.calls.map(nameOf), names, 'queued calls go out first in, first out');
      assert.equal(rpc.queued, 0);
      assert.equal(rpc.inFlight, 0);
    },
  );

  it(
    'honours maxInFlight and rejects invalid options with RangeError',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 2 });
      const calls = ['a', 'b', 'c'].map((n) => rpc.call(D.domainLookupByName, n));
      await peer.waitForCalls(LOOKUP, 2);
      await sleep(20);
      assert.equal(peer.calls.length, 2);
      peer.on(LOOKUP, (c, p) => {
        p.reply(c, dom(nameOf(c)));
      });
      for (const c of [...peer.unanswered.values()]) peer.reply(c, dom(nameOf(c)));
      await Promise.all(calls);
      assert.equal(peer.maxConcurrent, 2);

      const socket = new PassThrough();
      for (const bad of [
        { maxInFlight: 0 },
        { maxInFlight: 1.5 },
        { callTimeoutMs: -1 },
        { keepaliveIntervalMs: -1 },
        { keepaliveCount: 0 },
      ]) {
        assert.throws(() => new RpcConnection(socket, bad), RangeError, JSON.stringify(bad));
      }
    },
  );

  it(
    'rejects with LibvirtRemoteError on an error reply and stays open',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t);
      peer.on(LOOKUP, (c, p) => {
        p.replyError(c, {
          code: 42,
          domain: 12,
          message: "Domain not found: no domain with matching name 'x'",
          str1: 'Domain not found: %s',
          str2: "no domain with matching name 'x'",
        });
      });
      await assert.rejects(rpc.call(D.domainLookupByName, 'x'), (err: unknown) => {
        assert.ok(err instanceof LibvirtRemoteError);
        assert.equal(err.virCode, 42);
        assert.equal(err.virDomain, 12);
        assert.equal(err.virCodeName, 'VIR_ERR_NO_DOMAIN');
        assert.equal(err.fields.str2, "no domain with matching name 'x'");
        return true;
      });
      peer.on(LOOKUP, (c, p) => {
        p.reply(c, dom('y'));
      });
      assert.equal((await rpc.call(D.domainLookupByName, 'y')).name, 'y');
      assert.equal(rpc.isClosed, false);
    },
  );

  it(
    'fails a call whose arguments cannot be encoded, locally, and keeps going',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 1 });
      peer.on(LOOKUP, (c, p) => {
        p.reply(c, dom(nameOf(c)));
      });
      await assert.rejects(
        rpc.call(D.domainGetState, { dom: { name: 'x', uuid: 'not-a-uuid', id: 1 }, flags: 0 }),
        /Cannot use UUID "not-a-uuid"/,
      );
      assert.equal(rpc.inFlight, 0);
      assert.equal((await rpc.call(D.domainLookupByName, 'after')).name, 'after');
      assert.deepEqual(
        peer.calls.map((c) => c.proc),
        [LOOKUP],
        'the bad call never reached the wire',
      );
    },
  );
});

describe('RpcConnection deadlines and cancellation', () => {
  it(
    'times a call out with LibvirtTimeoutError and holds its slot until the late reply',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 1 });
      const started = performance.now();
      const late = rpc.call(D.domainLookupByName, 'slow', { timeoutMs: 50 });
      await assert.rejects(late, (err: unknown) => {
        assert.ok(err instanceof LibvirtTimeoutError);
        assert.equal(err.timeoutMs, 50);
        assert.equal(err.code, 'VFT_ERR_LIBVIRT_TIMEOUT');
        assert.equal(err.message, 'DOMAIN_LOOKUP_BY_NAME timed out after 50 ms');
        return true;
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 45 && elapsed < 500, `timed out after ${elapsed} ms`);
      assert.equal(rpc.inFlight, 1, 'the daemon still counts the call: its slot stays taken');

      const next = rpc.call(D.domainLookupByName, 'next');
      await sleep(30);
      assert.equal(peer.calls.length, 1, 'the next call waits for the slot');
      assert.equal(rpc.queued, 1);

      // The late reply is recognised and dropped; the slot frees and the queue moves.
      peer.on(LOOKUP, (c, p) => {
        p.reply(c, dom(nameOf(c)));
      });
      peer.reply(peer.calls[0]!, dom('slow'));
      assert.equal((await next).name, 'next');
      assert.equal(rpc.isClosed, false, 'a late reply is not a protocol violation');
      assert.equal(rpc.inFlight, 0);
    },
  );

  it('times out a queued call without ever sending it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { rpc, peer } = await connect(t, { maxInFlight: 1 });
    const first = rpc.call(D.domainLookupByName, 'first');
    const queued = rpc.call(D.domainLookupByName, 'queued', { timeoutMs: 30 });
    await assert.rejects(queued, LibvirtTimeoutError);
    assert.equal(rpc.queued, 0);
    peer.reply((await peer.waitForCalls(LOOKUP))[0]!, dom('first'));
    assert.equal((await first).name, 'first');
    await sleep(20);
    assert.deepEqual(peer.calls.map(nameOf), ['first']);
  });

  it(
    'uses callTimeoutMs when a call gives no deadline',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc } = await connect(t, { callTimeoutMs: 40 });
      await assert.rejects(rpc.call(D.domainLookupByName, 'x'), (err: unknown) => {
        return err instanceof LibvirtTimeoutError && err.timeoutMs === 40;
      });
    },
  );

  it(
    'aborts a sent call with LibvirtAbortError, keeping its slot until the late reply',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 1 });
      const ac = new AbortController();
      const call = rpc.call(D.domainLookupByName, 'a', { signal: ac.signal });
      await peer.waitForCalls(LOOKUP);
      const reason = new Error('operator gave up');
      ac.abort(reason);
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof LibvirtAbortError);
        assert.equal(err.code, 'VFT_ERR_LIBVIRT_ABORTED');
        assert.equal(err.message, 'DOMAIN_LOOKUP_BY_NAME aborted');
        assert.equal(err.cause, reason);
        return true;
      });
      assert.equal(rpc.inFlight, 1);
      const next = rpc.call(D.domainLookupByName, 'b');
      peer.on(LOOKUP, (c, p) => {
        p.reply(c, dom(nameOf(c)));
      });
      peer.reply(peer.calls[0]!, dom('a'));
      assert.equal((await next).name, 'b');
    },
  );

  it(
    'aborts a queued call without sending it, and refuses an already-aborted signal',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 1 });
      const first = rpc.call(D.domainLookupByName, 'first');
      const ac = new AbortController();
      const queued = rpc.call(D.domainLookupByName, 'queued', { signal: ac.signal });
      ac.abort();
      await assert.rejects(queued, LibvirtAbortError);
      await assert.rejects(
        rpc.call(D.domainLookupByName, 'never', { signal: AbortSignal.abort() }),
        (err: unknown) =>
          err instanceof LibvirtAbortError &&
          err.message === 'DOMAIN_LOOKUP_BY_NAME aborted before it was sent',
      );
      peer.reply((await peer.waitForCalls(LOOKUP))[0]!, dom('first'));
      await first;
      await sleep(20);
      assert.deepEqual(peer.calls.map(nameOf), ['first']);
    },
  );
});

describe('RpcConnection close', () => {
  for (const how of ['end', 'destroy'] as const) {
    it(
      `rejects every pending and queued call at once when the daemon hangs up (${how})`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { rpc, peer } = await connect(t);
        const settled: unknown[] = [];
        const calls = 'abcdefg'.split('').map((n) =>
          rpc.call(D.domainLookupByName, n).then(
            () => settled.push('resolved'),
            (err: unknown) => settled.push(err),
          ),
        );
        await peer.waitForCalls(LOOKUP, 4);
        assert.equal(rpc.queued, 3);
        peer[how]();
        const info = await rpc.closed;
        assert.equal(info.reason, 'eof');
        assert.equal(info.error, null);
        assert.match(info.message, /closed/);
        assert.equal(settled.length, 7, 'every call was settled before closed resolved');
        for (const err of settled) {
          assert.ok(err instanceof LibvirtClosedError, String(err));
          assert.equal(err.reason, 'eof');
          assert.equal(err.code, 'VFT_ERR_LIBVIRT_CLOSED');
          assert.match(
            err.message,
            /^DOMAIN_LOOKUP_BY_NAME failed: libvirt connection lost \(.*\); the outcome is unknown$/,
          );
        }
        await Promise.all(calls);
        assert.equal(rpc.inFlight, 0);
        assert.equal(rpc.queued, 0);
        await assert.rejects(
          rpc.call(D.domainLookupByName, 'late'),
          (err: unknown) =>
            err instanceof LibvirtClosedError &&
            err.reason === 'eof' &&
            err.message ===
              'Cannot call DOMAIN_LOOKUP_BY_NAME: the libvirt connection is closed (eof)',
        );
      },
    );
  }

  it(
    'is closed once by destroy(), which is idempotent',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t);
      const call = settle(rpc.call(D.domainLookupByName, 'x'));
      const err = new Error('agent shutting down');
      rpc.destroy('error', err, 'bye');
      rpc.destroy('client', null);
      const closed = await rpc.closed;
      assert.equal(closed.reason, 'error');
      assert.equal(closed.error, err);
      assert.equal(closed.message, 'bye', 'the message given to destroy() wins');
      const r = await call;
      assert.ok(!r.ok && r.error instanceof LibvirtClosedError && r.error.reason === 'error');
      assert.ok(!r.ok && r.error instanceof Error && r.error.cause === err);
      await peer.closed;
    },
  );
});

describe('RpcConnection keepalive', () => {
  it(
    'answers a PING from the daemon with a PONG, even with calls outstanding',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t);
      const call = settle(rpc.call(D.domainLookupByName, 'pending'));
      peer.ping();
      const pong = await peer.waitFor((f) => f.prog === PROG_KEEPALIVE && f.proc === 2);
      assert.deepEqual(pong.raw, KEEPALIVE_PONG);
      assert.equal(rpc.isClosed, false);
      rpc.destroy('client', null);
      await call;
    },
  );

  it(
    'declares a silent peer dead after interval × count (100 ms × 3), between 300 and 400 ms',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const before = performance.now(); // before the connection exists: a lower bound
      const { rpc, peer } = await connect(
        t,
        { keepaliveIntervalMs: 100, keepaliveCount: 3 },
        { autoPong: false },
      );
      const after = performance.now(); // after it exists: an upper bound
      const call = settle(rpc.call(D.domainLookupByName, 'x'));
      const info = await rpc.closed;
      const now = performance.now();
      assert.equal(info.reason, 'keepalive');
      assert.ok(now - before >= 300, `declared dead after only ${(now - before).toFixed(1)} ms`);
      assert.ok(now - after <= 400, `declared dead after ${(now - after).toFixed(1)} ms`);
      const r = await call;
      assert.ok(!r.ok && r.error instanceof LibvirtClosedError && r.error.reason === 'keepalive');
      const pings = peer.frames.filter((f) => f.prog === PROG_KEEPALIVE);
      assert.ok(pings.length >= 2, `sent ${pings.length} PINGs`);
      for (const p of pings) assert.deepEqual(p.raw, KEEPALIVE_PING);
      await peer.closed;
    },
  );

  it('keeps a peer that answers its PINGs', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { rpc, peer } = await connect(t, { keepaliveIntervalMs: 100, keepaliveCount: 3 });
    await sleep(700);
    assert.equal(rpc.isClosed, false);
    const pings = peer.frames.filter((f) => f.prog === PROG_KEEPALIVE && f.proc === 1).length;
    assert.ok(pings >= 4 && pings <= 8, `sent ${pings} PINGs in 700 ms`);
  });

  it(
    'counts any traffic from the peer as a sign of life',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(
        t,
        { keepaliveIntervalMs: 100, keepaliveCount: 2 },
        { autoPong: false },
      );
      rpc.setMessageHandler(() => undefined);
      const timer = setInterval(() => {
        peer.event(318, i32(1));
      }, 50);
      t.after(() => {
        clearInterval(timer);
      });
      await sleep(500);
      assert.equal(rpc.isClosed, false);
      assert.equal(
        peer.frames.filter((f) => f.prog === PROG_KEEPALIVE).length,
        0,
        'no PING is needed while the peer talks',
      );
      clearInterval(timer);
      assert.equal((await rpc.closed).reason, 'keepalive');
    },
  );

  it('sends no PING when keepaliveIntervalMs is 0', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { rpc, peer } = await connect(t, { keepaliveIntervalMs: 0 }, { autoPong: false });
    await sleep(150);
    assert.equal(peer.frames.length, 0);
    assert.equal(rpc.isClosed, false);
  });
});

describe('RpcConnection routing', () => {
  it(
    'routes an event with serial 1 by type while the call with serial 1 is pending',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t);
      const events: Header[] = [];
      rpc.setMessageHandler((h) => events.push(h));
      const call = rpc.call(D.domainLookupByName, 'one');
      const [c] = await peer.waitForCalls(LOOKUP);
      assert.equal(c!.serial, 1);
      peer.event(318, i32(5), dom('one'), i32(2), i32(0));
      // In one chunk: event, the reply for serial 1, another event.
      peer.write(
        cat(
          eventFrame(319, i32(6), dom('one')),
          reply(LOOKUP, 1, dom('one', 9)),
          eventFrame(320, i32(7)),
        ),
      );
      const d = await call;
      assert.deepEqual([d.name, d.id], ['one', 9]);
      await sleep(10);
      assert.deepEqual(
        events.map((h) => [h.proc, h.serial, h.type]),
        [
          [318, 1, T_MESSAGE],
          [319, 1, T_MESSAGE],
          [320, 1, T_MESSAGE],
        ],
      );
    },
  );

  it('passes QEMU-program events to the handler too', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { rpc, peer } = await connect(t);
    const events: Header[] = [];
    rpc.setMessageHandler((h) => events.push(h));
    peer.send({ prog: PROG_QEMU, proc: 6, serial: 1, type: T_MESSAGE }, i32(1));
    await sleep(20);
    assert.deepEqual(
      events.map((h) => [h.prog, h.proc]),
      [[PROG_QEMU, 6]],
    );
  });
});

interface Violation {
  readonly name: string;
  /** Bytes the daemon sends while DOMAIN_LOOKUP_BY_NAME has serial 1 pending. */
  readonly bytes: Buffer;
  readonly message: RegExp;
  /** The pending call gets the protocol error itself (its own reply was bad). */
  readonly callGetsProtocolError?: boolean;
}

const VIOLATIONS: readonly Violation[] = [
  { name: 'garbage', bytes: hex`deadbeef 00112233`, message: /current value is 3735928559/ },
  {
    name: 'a length word below 28',
    bytes: cat(u32(27), Buffer.alloc(23)),
    message: /current value is 27/,
  },
  { name: 'a zero length word', bytes: u32(0), message: /current value is 0$/ },
  {
    name: 'a length word over 4 + 32 MiB',
    bytes: u32(33_554_437),
    message: /current value is 33554437/,
  },
  { name: 'length 0xffffffff', bytes: u32(0xffffffff), message: /current value is 4294967295/ },
  {
    name: 'a reply with an unknown serial',
    bytes: reply(LOOKUP, 999, dom('x')),
    message: /Reply with unknown serial 999 \(proc 23\)/,
  },
  {
    name: 'a reply for a different proc',
    bytes: reply(24, 1, dom('x')),
    message: /Reply for serial 1 names proc 24, but DOMAIN_LOOKUP_BY_NAME \(23\) was called/,
  },
  {
    name: 'a reply from another program',
    bytes: frame({ prog: PROG_QEMU, proc: LOOKUP, serial: 1, type: T_REPLY }, dom('x')),
    message: /names proc 23, but DOMAIN_LOOKUP_BY_NAME/,
  },
  {
    name: 'an unknown message type',
    bytes: frame({ proc: LOOKUP, serial: 1, type: 9 }),
    message: /Unexpected message type 9 \(proc 23, serial 1\)/,
  },
  {
    name: 'a STREAM packet',
    bytes: frame({ proc: LOOKUP, serial: 1, type: T_STREAM, status: S_CONTINUE }, u32(1)),
    message: /Unexpected message type 3/,
  },
  {
    name: 'a CALL from the daemon',
    bytes: frame({ proc: 1, serial: 1, type: 0 }),
    message: /Unexpected message type 0/,
  },
  {
    name: 'a wrong program version',
    bytes: frame({ vers: 2, proc: LOOKUP, serial: 1, type: T_REPLY }),
    message: /Unexpected program version 2/,
  },
  {
    name: 'an unknown keepalive procedure',
    bytes: frame({ prog: PROG_KEEPALIVE, proc: 3, type: T_MESSAGE }),
    message: /Unknown keepalive procedure 3/,
  },
  {
    name: 'a keepalive frame that is not a MESSAGE',
    bytes: frame({ prog: PROG_KEEPALIVE, proc: 1, type: T_REPLY }),
    message: /Unexpected keepalive message type 1/,
  },
  {
    name: 'an event from the LXC program',
    bytes: frame({ prog: 0x00068000, proc: 1, serial: 1, type: T_MESSAGE }),
    message: /Unexpected event from program 0x68000/,
  },
  {
    name: 'a reply with status CONTINUE',
    bytes: frame({ proc: LOOKUP, serial: 1, type: T_REPLY, status: S_CONTINUE }, dom('x')),
    message: /DOMAIN_LOOKUP_BY_NAME: reply with status 2/,
    callGetsProtocolError: true,
  },
  {
    name: 'a reply with trailing bytes',
    bytes: reply(LOOKUP, 1, dom('x'), u32(0)),
    message: /DOMAIN_LOOKUP_BY_NAME reply: 4 trailing bytes/,
    callGetsProtocolError: true,
  },
  {
    name: 'a truncated reply',
    bytes: reply(LOOKUP, 1, str('x'), Buffer.alloc(8)),
    message: /opaque body: needs 16 bytes/,
    callGetsProtocolError: true,
  },
  {
    name: 'an empty reply to a call that returns data',
    bytes: reply(LOOKUP, 1),
    message: /unsigned int: needs 4 bytes at offset 0, payload has 0 left/,
    callGetsProtocolError: true,
  },
  {
    name: 'a malformed error reply',
    bytes: frame({ proc: LOOKUP, serial: 1, type: T_REPLY, status: 1 }, i32(42)),
    message: /needs 4 bytes at offset 4/,
    callGetsProtocolError: true,
  },
  {
    name: 'an error reply with trailing bytes',
    bytes: withLength(errorReply(LOOKUP, 1), 4),
    message: /DOMAIN_LOOKUP_BY_NAME error reply: 4 trailing bytes/,
    callGetsProtocolError: true,
  },
  {
    name: 'a reply with file descriptors',
    bytes: frame({ proc: LOOKUP, serial: 1, type: T_REPLY_WITH_FDS }, u32(0), dom('x')),
    message: /replies with file descriptors are not supported/,
  },
];

/** The frame with `extra` zero bytes appended to its payload (length word fixed up). */
function withLength(f: Buffer, extra: number): Buffer {
  const out = cat(f, Buffer.alloc(extra));
  out.writeUInt32BE(out.length, 0);
  return out;
}

describe('RpcConnection protocol violations close the connection', () => {
  for (const v of VIOLATIONS) {
    it(`on ${v.name}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const { rpc, peer } = await connect(t);
      const call = settle(rpc.call(D.domainLookupByName, 'x'));
      await peer.waitForCalls(LOOKUP);
      peer.write(v.bytes);
      const info = await rpc.closed;
      assert.equal(info.reason, 'protocol');
      assert.ok(info.error instanceof LibvirtProtocolError, String(info.error));
      assert.match(info.error.message, v.message);
      const r = await call;
      assert.ok(!r.ok, 'the pending call must fail');
      if (v.callGetsProtocolError) {
        assert.ok(r.error instanceof LibvirtProtocolError, String(r.error));
        assert.match(r.error.message, v.message);
      } else {
        assert.ok(r.error instanceof LibvirtClosedError, String(r.error));
        assert.equal(r.error.reason, 'protocol');
        assert.equal(r.error.cause, info.error);
      }
      await peer.closed;
    });
  }

  it(
    'drops the rest of a chunk after the frame that broke the protocol',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t, { maxInFlight: 2 });
      const events: Header[] = [];
      rpc.setMessageHandler((h) => events.push(h));
      const a = settle(rpc.call(D.domainLookupByName, 'a'));
      const b = settle(rpc.call(D.domainLookupByName, 'b'));
      await peer.waitForCalls(LOOKUP, 2);
      peer.write(
        cat(
          reply(LOOKUP, 1, dom('a')),
          reply(LOOKUP, 77, dom('?')),
          reply(LOOKUP, 2, dom('b')),
          eventFrame(318),
        ),
      );
      assert.equal((await rpc.closed).reason, 'protocol');
      const [ra, rb] = await Promise.all([a, b]);
      assert.ok(ra.ok && ra.value.name === 'a', 'the frame before the violation was processed');
      assert.ok(!rb.ok && rb.error instanceof LibvirtClosedError);
      assert.equal(events.length, 0);
    },
  );
});

describe('RpcConnection timer bounds', () => {
  it('refuses connection deadlines that Node timers cannot hold (they would fire after 1 ms)', () => {
    const socket = new PassThrough();
    for (const bad of [
      { callTimeoutMs: 2 ** 31 },
      { callTimeoutMs: Infinity },
      { keepaliveIntervalMs: 2 ** 31 },
    ]) {
      assert.throws(() => new RpcConnection(socket, bad), RangeError, JSON.stringify(bad));
    }
  });

  it(
    'refuses a per-call deadline that Node timers cannot hold, instead of firing it at once',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { rpc, peer } = await connect(t);
      for (const timeoutMs of [Infinity, 2 ** 31, 0, -5, NaN]) {
        await assert.rejects(
          rpc.call(D.domainLookupByName, 'x', { timeoutMs }),
          (err: unknown) => err instanceof RangeError && /timeoutMs/.test(err.message),
          String(timeoutMs),
        );
      }
      // The largest deadline a timer can hold really waits.
      const call = settle(rpc.call(D.domainLookupByName, 'y', { timeoutMs: 2 ** 31 - 1 }));
      await sleep(50);
      assert.deepEqual(peer.calls.map(nameOf), ['y'], 'the refused calls never reached the wire');
      assert.equal(rpc.inFlight, 1);
      peer.reply(peer.calls[0]!, dom('y'));
      const r = await call;
      assert.ok(r.ok && r.value.name === 'y');
    },
  );
});
