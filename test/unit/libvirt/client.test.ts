/**
 * LibvirtConnection (client.ts) against the fake libvirtd: the handshake, its failure modes,
 * event messages, the connection-closed message and close().
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { LibvirtClient } from '../../../agent/libvirt/api.ts';
import { LibvirtConnection } from '../../../agent/libvirt/client.ts';
import type { OpenOptions } from '../../../agent/libvirt/client.ts';
import {
  LibvirtAbortError,
  LibvirtClosedError,
  LibvirtError,
  LibvirtProtocolError,
  LibvirtRemoteError,
  LibvirtTimeoutError,
} from '../../../agent/libvirt/errors.ts';
import * as C from '../../../agent/libvirt/procedures/connect.ts';
import { FakeLibvirtd } from '../../helpers/fake-libvirtd.ts';
import type { FakeOptions, FakePeer } from '../../helpers/fake-libvirtd.ts';
import {
  cat,
  dom,
  i32,
  optStr,
  Proc,
  PROG_QEMU,
  str,
  T_MESSAGE,
  TEST_UUID,
  u32,
} from '../../helpers/xdr-builders.ts';

/** Every async test fails instead of hanging when a close, a reply or an event never comes. */
const TEST_TIMEOUT_MS = 10_000;

async function open(
  t: TestContext,
  options: Partial<OpenOptions> = {},
  fakeOptions: FakeOptions = {},
): Promise<{ conn: LibvirtConnection; peer: FakePeer; fake: FakeLibvirtd }> {
  const fake = await FakeLibvirtd.start(t, fakeOptions);
  const conn = await LibvirtConnection.open({
    socketPath: fake.socketPath,
    uri: 'test:///default',
    keepaliveIntervalMs: 0,
    ...options,
  });
  t.after(() => {
    conn.destroy();
  });
  return { conn, peer: await fake.nextPeer(), fake };
}

function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('LibvirtConnection.open handshake', () => {
  it(
    'does what the C client does: AUTH_LIST, keepalive feature, CONNECT_OPEN, then features 14 and 15 and the lib version together, then the close callback',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer, fake } = await open(t);
      assert.deepEqual(
        peer.calls.map((c) => [c.serial, c.proc, c.payload.toString('hex')]),
        [
          [1, Proc.AUTH_LIST, ''],
          [2, Proc.CONNECT_SUPPORTS_FEATURE, i32(10).toString('hex')],
          [3, Proc.CONNECT_OPEN, cat(optStr('test:///default'), u32(0)).toString('hex')],
          [4, Proc.CONNECT_SUPPORTS_FEATURE, i32(14).toString('hex')],
          [5, Proc.CONNECT_SUPPORTS_FEATURE, i32(15).toString('hex')],
          [6, Proc.CONNECT_GET_LIB_VERSION, ''],
          [7, Proc.CONNECT_REGISTER_CLOSE_CALLBACK, ''],
        ],
      );
      assert.equal(conn.info.libVersion, 9_000_000);
      assert.equal(conn.info.uri, 'test:///default');
      assert.deepEqual(conn.info.authTypes, [0]);
      assert.deepEqual(conn.info.endpoint, {
        kind: 'unix',
        path: fake.socketPath,
        name: 'test:///default',
      });
      assert.ok(conn.info.handshakeMs >= 0 && conn.info.handshakeMs < 2000);
      assert.equal(conn.isClosed, false);
    },
  );

  it('sends the RO flag for a read-only connection', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { peer } = await open(t, { readOnly: true });
    const openCall = peer.calls.find((c) => c.proc === Proc.CONNECT_OPEN);
    assert.deepEqual(openCall?.payload, cat(optStr('test:///default'), u32(1)));
  });

  it(
    'skips the close callback when feature 15 is missing',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { peer } = await open(t, {}, { features: { 15: 0 } });
      assert.deepEqual(
        peer.calls.map((c) => c.proc),
        [66, 60, 1, 60, 60, 157],
      );
    },
  );

  it(
    'calls AUTH_POLKIT when the daemon offers only polkit, and nothing when it offers nothing',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t, { authTypes: [2] });
      fake.on(Proc.AUTH_POLKIT, (c, p) => {
        p.reply(c, i32(1));
      });
      const conn = await LibvirtConnection.open({
        socketPath: fake.socketPath,
        uri: 'test:///default',
        keepaliveIntervalMs: 0,
      });
      t.after(() => {
        conn.destroy();
      });
      const peer = await fake.nextPeer();
      assert.deepEqual(
        peer.calls.slice(0, 3).map((c) => c.proc),
        [66, 70, 60],
      );
      assert.deepEqual(conn.info.authTypes, [2]);

      const { conn: c2, peer: p2 } = await open(t, {}, { authTypes: [] });
      assert.deepEqual(c2.info.authTypes, []);
      assert.deepEqual(
        p2.calls.slice(0, 2).map((c) => c.proc),
        [66, 60],
      );
    },
  );

  it(
    'refuses a daemon that offers only SASL, with code AUTH, and hangs up',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t, { authTypes: [1] });
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          keepaliveIntervalMs: 0,
        }),
        (err: unknown) => {
          assert.ok(err instanceof LibvirtError);
          assert.equal(err.code, 'VFT_ERR_LIBVIRT_AUTH');
          assert.match(err.message, /the daemon offers only SASL/);
          return true;
        },
      );
      const peer = await fake.nextPeer();
      await peer.closed;
      assert.deepEqual(
        peer.calls.map((c) => c.proc),
        [66],
      );
    },
  );

  it(
    'maps an authentication failure to AUTH and other handshake errors to CONNECT, keeping the cause',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t, { authTypes: [2] });
      fake.on(Proc.AUTH_POLKIT, (c, p) => {
        p.replyError(c, { code: 45, domain: 60, message: 'authentication failed' });
      });
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          keepaliveIntervalMs: 0,
        }),
        (err: unknown) => {
          assert.ok(err instanceof LibvirtError);
          assert.equal(err.code, 'VFT_ERR_LIBVIRT_AUTH');
          assert.ok(err.cause instanceof LibvirtRemoteError && err.cause.virCode === 45);
          return true;
        },
      );

      const fake2 = await FakeLibvirtd.start(t);
      fake2.on(Proc.CONNECT_OPEN, (c, p) => {
        p.replyError(c, {
          code: 5,
          domain: 0,
          message: 'no connection driver available for bogus:///x',
        });
      });
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake2.socketPath,
          uri: 'test:///default',
          keepaliveIntervalMs: 0,
        }),
        (err: unknown) => {
          assert.ok(err instanceof LibvirtError);
          assert.equal(err.code, 'VFT_ERR_LIBVIRT_CONNECT');
          assert.equal(
            err.message,
            'Cannot open libvirt connection test:///default: CONNECT_OPEN failed: no connection driver available for bogus:///x (VIR_ERR_NO_CONNECT, domain 0)',
          );
          assert.ok(err.cause instanceof LibvirtRemoteError && err.cause.virCode === 5);
          return true;
        },
      );
      await (
        await fake2.nextPeer()
      ).closed;
    },
  );

  it(
    'refuses a daemon without event callbacks (feature 14)',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t, { features: { 14: 0 } });
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          keepaliveIntervalMs: 0,
        }),
        (err: unknown) =>
          err instanceof LibvirtError &&
          err.code === 'VFT_ERR_LIBVIRT_CONNECT' &&
          /lacks event callbacks/.test(err.message),
      );
      await (
        await fake.nextPeer()
      ).closed;
    },
  );

  it('reports a missing socket as CONNECT', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const fake = await FakeLibvirtd.start(t);
    await assert.rejects(
      LibvirtConnection.open({ socketPath: `${fake.dir}/nope`, uri: 'test:///default' }),
      (err: unknown) =>
        err instanceof LibvirtError &&
        err.code === 'VFT_ERR_LIBVIRT_CONNECT' &&
        err.message.startsWith(`Cannot connect to libvirt at ${fake.dir}/nope: connect ENOENT`),
    );
  });

  it(
    'fails the handshake when the daemon hangs up in the middle',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(Proc.CONNECT_OPEN, (_c, p) => {
        p.end();
      });
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          keepaliveIntervalMs: 0,
        }),
        (err: unknown) => err instanceof LibvirtClosedError && err.reason === 'eof',
      );
    },
  );

  it(
    'stops the handshake when the caller aborts, with LibvirtAbortError',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(Proc.CONNECT_OPEN, () => undefined);
      const ac = new AbortController();
      const opening = settle(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          signal: ac.signal,
          keepaliveIntervalMs: 0,
        }),
      );
      const peer = await fake.nextPeer();
      await peer.waitForCalls(Proc.CONNECT_OPEN);
      ac.abort();
      const r = await opening;
      assert.ok(!r.ok && r.error instanceof LibvirtAbortError, String(!r.ok && r.error));
      await peer.closed;
    },
  );
});

describe('LibvirtConnection messages', () => {
  it(
    'closes with reason eof on CONNECT_EVENT_CONNECTION_CLOSED and rejects pending calls',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      const call = settle(conn.call(C.connectGetHostname, undefined));
      await peer.waitForCalls(Proc.CONNECT_GET_HOSTNAME);
      peer.event(Proc.CONNECT_EVENT_CONNECTION_CLOSED, i32(1));
      const info = await conn.closed;
      assert.equal(info.reason, 'eof');
      const r = await call;
      assert.ok(!r.ok && r.error instanceof LibvirtClosedError);
      assert.equal(r.error.reason, 'eof');
      assert.match(
        r.error.message,
        /the daemon lost its connection to the hypervisor driver \(reason 1\)/,
      );
      await peer.closed;
    },
  );

  it(
    'closes with reason protocol on a malformed connection-closed message',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      peer.event(Proc.CONNECT_EVENT_CONNECTION_CLOSED, i32(1), i32(2));
      const info = await conn.closed;
      assert.equal(info.reason, 'protocol');
      assert.match(
        String(info.error?.message),
        /CONNECT_EVENT_CONNECTION_CLOSED: 4 trailing bytes/,
      );
    },
  );

  it(
    'counts and ignores events it does not decode (unknown proc, QEMU program)',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      peer.event(330, i32(1), i32(0), dom()); // PMSUSPEND: not decoded by the client
      peer.send({ prog: PROG_QEMU, proc: 6, serial: 1, type: T_MESSAGE }, i32(1));
      peer.event(9999);
      peer.on(Proc.CONNECT_GET_HOSTNAME, (c, p) => {
        p.reply(c, str('fakehost'));
      });
      assert.equal(await conn.call(C.connectGetHostname, undefined), 'fakehost');
      assert.equal(conn.ignoredMessages, 3);
      assert.equal(conn.isClosed, false);
    },
  );

  it(
    'closes with reason protocol on a malformed event payload',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      const received: unknown[] = [];
      conn.setEventSink((e) => received.push(e));
      peer.event(318, i32(1), dom(), i32(2)); // detail missing
      const info = await conn.closed;
      assert.equal(info.reason, 'protocol');
      assert.ok(info.error instanceof LibvirtProtocolError);
      assert.match(info.error.message, /int: needs 4 bytes/);
      assert.equal(received.length, 0);
    },
  );

  it(
    'closes with reason protocol on an event with trailing bytes',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      peer.event(319, i32(1), dom(), u32(0));
      const info = await conn.closed;
      assert.equal(info.reason, 'protocol');
      assert.match(String(info.error?.message), /event reboot: 4 trailing bytes/);
    },
  );
});

describe('LibvirtConnection close', () => {
  it(
    'says goodbye with CONNECT_CLOSE, ends with reason client, and shares the promise',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      const a = conn.close();
      const b = conn.close();
      assert.equal(a, b);
      await a;
      assert.equal((await conn.closed).reason, 'client');
      assert.equal(peer.calls.at(-1)?.proc, Proc.CONNECT_CLOSE);
      await peer.closed;
      await assert.rejects(conn.call(C.connectGetHostname, undefined), LibvirtClosedError);
    },
  );

  it(
    'closes within its timeout when the daemon never answers CONNECT_CLOSE',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(Proc.CONNECT_CLOSE, () => undefined);
      const conn = await LibvirtConnection.open({
        socketPath: fake.socketPath,
        uri: 'test:///default',
        keepaliveIntervalMs: 0,
      });
      const started = performance.now();
      await conn.close(100);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 95 && elapsed < 1000, `closed after ${elapsed} ms`);
      assert.equal((await conn.closed).reason, 'client');
    },
  );

  it(
    'closes at once after the connection already died',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { conn, peer } = await open(t);
      peer.destroy();
      assert.equal((await conn.closed).reason, 'eof');
      await conn.close();
      assert.equal(peer.calls.filter((c) => c.proc === Proc.CONNECT_CLOSE).length, 0);
    },
  );

  it('is async-disposable through LibvirtClient', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const fake = await FakeLibvirtd.start(t);
    const client = await LibvirtClient.connect({
      socketPath: fake.socketPath,
      uri: 'test:///default',
      keepaliveIntervalMs: 0,
    });
    const peer = await fake.nextPeer();
    await client[Symbol.asyncDispose]();
    assert.equal(client.isClosed, true);
    assert.equal(peer.calls.at(-1)?.proc, Proc.CONNECT_CLOSE);
  });
});

describe('LibvirtClient calls through the fake', () => {
  it(
    'turns VIR_ERR_NO_DOMAIN into null and keeps other errors',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(23, (c, p) => {
        const name = c.payload.toString('utf8', 4, 4 + c.payload.readUInt32BE(0));
        if (name === 'test') p.reply(c, dom('test', 1));
        else if (name === 'gone')
          p.replyError(c, { code: 42, domain: 12, message: 'Domain not found' });
        else p.replyError(c, { code: 1, domain: 12, message: 'internal error: boom' });
      });
      const client = await LibvirtClient.connect({
        socketPath: fake.socketPath,
        uri: 'test:///default',
        keepaliveIntervalMs: 0,
      });
      t.after(() => {
        client.connection.destroy();
      });
      assert.deepEqual(await client.lookupDomainByName('test'), {
        name: 'test',
        uuid: TEST_UUID,
        id: 1,
      });
      assert.equal(await client.lookupDomainByName('gone'), null);
      await assert.rejects(
        client.lookupDomainByName('boom'),
        (err: unknown) => err instanceof LibvirtRemoteError && err.virCode === 1,
      );
    },
  );

  it('decodes DOMAIN_GET_STATE into names', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const fake = await FakeLibvirtd.start(t);
    fake.on(Proc.DOMAIN_GET_STATE, (c, p) => {
      p.reply(c, i32(6), i32(1));
    });
    const client = await LibvirtClient.connect({
      socketPath: fake.socketPath,
      uri: 'test:///default',
      keepaliveIntervalMs: 0,
    });
    t.after(() => {
      client.connection.destroy();
    });
    const state = await client.domainGetState({ name: 'test', uuid: TEST_UUID, id: 1 });
    assert.deepEqual(state, { state: 6, reason: 1, stateName: 'Crashed', reasonName: 'Panicked' });
    const call = (await fake.nextPeer()).calls.at(-1)!;
    assert.deepEqual(call.payload, cat(dom('test', 1), u32(0)));
  });

  it(
    'lists domains (need_results 1, flags) and reads the array',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(Proc.CONNECT_LIST_ALL_DOMAINS, (c, p) => {
        p.reply(
          c,
          u32(2),
          dom('a', 1, '00000000-0000-0000-0000-000000000001'),
          dom('b', -1, '00000000-0000-0000-0000-000000000002'),
          u32(2),
        );
      });
      const client = await LibvirtClient.connect({
        socketPath: fake.socketPath,
        uri: 'test:///default',
        keepaliveIntervalMs: 0,
      });
      t.after(() => {
        client.connection.destroy();
      });
      const doms = await client.listAllDomains(3);
      assert.deepEqual(
        doms.map((d) => [d.name, d.id, d.uuid]),
        [
          ['a', 1, '00000000-0000-0000-0000-000000000001'],
          ['b', -1, '00000000-0000-0000-0000-000000000002'],
        ],
      );
      const call = (await fake.nextPeer()).calls.at(-1)!;
      assert.deepEqual(call.payload, cat(i32(1), u32(3)));
    },
  );
});

describe('LibvirtConnection.open failure cleanup', () => {
  it(
    'reports a handshake that outlives connectTimeoutMs as a timeout, not an abort',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(Proc.AUTH_LIST, () => undefined); // silence
      const started = performance.now();
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          connectTimeoutMs: 200,
          keepaliveIntervalMs: 0,
        }),
        (err: unknown) => {
          assert.ok(
            err instanceof LibvirtTimeoutError,
            `expected LibvirtTimeoutError, got ${String(err)}`,
          );
          assert.equal(err.code, 'VFT_ERR_LIBVIRT_TIMEOUT');
          assert.equal(err.timeoutMs, 200);
          assert.equal(
            err.message,
            'Cannot open libvirt connection test:///default: no answer within 200 ms (waiting for AUTH_LIST)',
          );
          return true;
        },
      );
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 190 && elapsed < 1000, `gave up after ${elapsed} ms`);
      await (
        await fake.nextPeer()
      ).closed;
    },
  );

  it(
    'refuses a connectTimeoutMs that Node timers cannot hold, before dialing',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      for (const connectTimeoutMs of [2 ** 31, Infinity, 0]) {
        await assert.rejects(
          LibvirtConnection.open({
            socketPath: fake.socketPath,
            uri: 'test:///default',
            connectTimeoutMs,
          }),
          (err: unknown) => err instanceof RangeError && /connectTimeoutMs/.test(err.message),
          String(connectTimeoutMs),
        );
      }
      await sleep(20);
      assert.equal(fake.peers.length, 0, 'no connection was attempted');
    },
  );

  it(
    'leaves no socket open when the options are invalid',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      await assert.rejects(
        LibvirtConnection.open({
          socketPath: fake.socketPath,
          uri: 'test:///default',
          maxInFlight: 0,
        }),
        (err: unknown) => err instanceof RangeError && /maxInFlight/.test(err.message),
      );
      await sleep(100);
      const open = fake.peers.filter((p) => !p.isClosed);
      await Promise.race([
        Promise.all(open.map((p) => p.closed)),
        sleep(1000, undefined, { ref: false }).then(() =>
          assert.fail(`${open.length} socket(s) left open by the failed open()`),
        ),
      ]);
    },
  );
});
