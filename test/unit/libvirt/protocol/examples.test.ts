/**
 * The byte examples of libvirt-rpc.md §1.7: our decoders read them and our encoders write
 * them, byte for byte, including on a live RpcConnection.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { LibvirtRemoteError } from '../../../../agent/libvirt/errors.ts';
import { EVENT_SPECS } from '../../../../agent/libvirt/events/decode.ts';
import * as C from '../../../../agent/libvirt/procedures/connect.ts';
import {
  KeepaliveProc,
  MessageType,
  Program,
} from '../../../../agent/libvirt/protocol/constants.ts';
import {
  decodeHeader,
  emptyFrame,
  encodeHeaderInto,
  PAYLOAD_OFFSET,
} from '../../../../agent/libvirt/protocol/header.ts';
import { readRemoteError } from '../../../../agent/libvirt/protocol/types.ts';
import { RpcConnection } from '../../../../agent/libvirt/rpc/connection.ts';
import type { Header } from '../../../../agent/libvirt/protocol/header.ts';
import { XdrReader } from '../../../../agent/libvirt/xdr/reader.ts';
import { XdrWriter } from '../../../../agent/libvirt/xdr/writer.ts';
import {
  ALL_FRAMES,
  AUTH_LIST_CALL,
  AUTH_LIST_REPLY,
  CONNECT_OPEN_CALL,
  CONNECT_OPEN_REPLY,
  G1_UUID,
  GET_HOSTNAME_ERROR_REPLY,
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  LIFECYCLE_EVENT,
} from '../../../fixtures/xdr/rpc-examples.ts';
import {
  arr,
  dom,
  errorReply,
  eventFrame,
  frame,
  i32,
  optStr,
  PING,
  PONG,
  reply,
  u32,
} from '../../../helpers/xdr-builders.ts';

/** Every async test fails instead of hanging when a close, a reply or an event never comes. */
const TEST_TIMEOUT_MS = 10_000;

const HOSTNAME_ERROR = {
  code: 1,
  domain: 7,
  message: 'internal error: hypervisor connection not open',
  level: 2,
  str1: 'internal error: %s',
  str2: 'hypervisor connection not open',
  str3: null,
  int1: -1,
  int2: -1,
};

/** A Duplex standing in for the socket: records what is written, lets the test push bytes. */
function wire(): { socket: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const socket = new Duplex({
    read() {
      // Bytes arrive through socket.push().
    },
    write(chunk: Buffer, _enc, cb) {
      written.push(Buffer.from(chunk));
      cb();
    },
  });
  return { socket, written };
}

/** Pushes `bytes` one byte at a time, the worst split the socket can produce. */
function dribble(socket: Duplex, bytes: Buffer): void {
  for (const b of bytes) socket.push(Buffer.of(b));
}

describe('libvirt-rpc.md §1.7 fixtures', () => {
  it('are whole frames: the length word counts the whole frame, version 1', () => {
    for (const [name, f] of Object.entries(ALL_FRAMES)) {
      assert.equal(f.readUInt32BE(0), f.length, name);
      assert.equal(f.readUInt32BE(8), 1, name);
    }
  });

  it('are reproduced by the test builders (so the builders can be trusted)', () => {
    assert.deepEqual(frame({ proc: 66, serial: 1 }), AUTH_LIST_CALL);
    assert.deepEqual(reply(66, 1, arr([i32(0)])), AUTH_LIST_REPLY);
    assert.deepEqual(
      frame({ proc: 1, serial: 4 }, optStr('qemu:///system'), u32(0)),
      CONNECT_OPEN_CALL,
    );
    assert.deepEqual(reply(1, 4), CONNECT_OPEN_REPLY);
    assert.deepEqual(errorReply(59, 3, HOSTNAME_ERROR), GET_HOSTNAME_ERROR_REPLY);
    assert.deepEqual(PING(), KEEPALIVE_PING);
    assert.deepEqual(PONG(), KEEPALIVE_PONG);
    assert.deepEqual(
      eventFrame(318, i32(162), dom('g1', -1, G1_UUID), i32(1), i32(0)),
      LIFECYCLE_EVENT,
    );
  });
});

describe('decoding the §1.7 fixtures', () => {
  it('reads the headers', () => {
    assert.deepEqual(decodeHeader(AUTH_LIST_CALL), {
      prog: Program.REMOTE,
      vers: 1,
      proc: 66,
      type: MessageType.CALL,
      serial: 1,
      status: 0,
    });
    assert.deepEqual(decodeHeader(GET_HOSTNAME_ERROR_REPLY), {
      prog: Program.REMOTE,
      vers: 1,
      proc: 59,
      type: MessageType.REPLY,
      serial: 3,
      status: 1,
    });
    assert.deepEqual(decodeHeader(KEEPALIVE_PING), {
      prog: Program.KEEPALIVE,
      vers: 1,
      proc: KeepaliveProc.PING,
      type: MessageType.MESSAGE,
      serial: 0,
      status: 0,
    });
    assert.equal(decodeHeader(LIFECYCLE_EVENT).serial, 1, 'events carry serial 1');
  });

  it('reads the AUTH_LIST reply as [NONE]', () => {
    const r = new XdrReader(AUTH_LIST_REPLY.subarray(PAYLOAD_OFFSET));
    assert.deepEqual(C.authList.decode?.(r), [0]);
    r.done('AUTH_LIST');
  });

  it('reads the error reply into every remote_error field', () => {
    const r = new XdrReader(GET_HOSTNAME_ERROR_REPLY.subarray(PAYLOAD_OFFSET));
    assert.deepEqual(readRemoteError(r), HOSTNAME_ERROR);
    r.done('remote_error');
  });

  it('reads the lifecycle event: callback 162, g1, UNDEFINED/REMOVED', () => {
    const r = new XdrReader(LIFECYCLE_EVENT.subarray(PAYLOAD_OFFSET));
    const cb = r.int32();
    const time = new Date(0);
    const e = EVENT_SPECS.lifecycle.decode(r, cb, time);
    r.done('lifecycle');
    assert.deepEqual(e, {
      callbackId: 162,
      domain: { name: 'g1', uuid: G1_UUID, id: -1 },
      time,
      type: 'Undefined',
      detail: 'Removed',
      event: 'lifecycle',
      typeCode: 1,
      detailCode: 0,
    });
  });
});

describe('encoding the §1.7 fixtures', () => {
  it('encodes the AUTH_LIST and CONNECT_OPEN calls byte for byte', () => {
    const auth = new XdrWriter(256, PAYLOAD_OFFSET).bytes();
    encodeHeaderInto(auth, { prog: Program.REMOTE, proc: 66, type: MessageType.CALL, serial: 1 });
    assert.deepEqual(auth, AUTH_LIST_CALL);

    const w = new XdrWriter(256, PAYLOAD_OFFSET);
    C.connectOpen.encode?.(w, { name: 'qemu:///system', flags: 0 });
    const open = w.bytes();
    encodeHeaderInto(open, { prog: Program.REMOTE, proc: C.connectOpen.proc, type: 0, serial: 4 });
    assert.deepEqual(open, CONNECT_OPEN_CALL);
  });

  it('encodes keepalive PING and PONG byte for byte', () => {
    const h = { prog: Program.KEEPALIVE, type: MessageType.MESSAGE, serial: 0 };
    assert.deepEqual(emptyFrame({ ...h, proc: KeepaliveProc.PING }), KEEPALIVE_PING);
    assert.deepEqual(emptyFrame({ ...h, proc: KeepaliveProc.PONG }), KEEPALIVE_PONG);
  });

  it(
    'speaks the whole §1.7 conversation on an RpcConnection, fed one byte at a time',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const { socket, written } = wire();
      const rpc = new RpcConnection(socket, { keepaliveIntervalMs: 0 });
      const events: { h: Header; payload: Buffer }[] = [];
      rpc.setMessageHandler((h, payload) => events.push({ h, payload: Buffer.from(payload) }));

      // serial 1: AUTH_LIST
      const auth = rpc.call(C.authList, undefined);
      assert.deepEqual(written.shift(), AUTH_LIST_CALL);
      dribble(socket, AUTH_LIST_REPLY);
      assert.deepEqual(await auth, [0]);

      // serial 2: a feature check
      const feature = rpc.call(C.connectSupportsFeature, 10);
      assert.deepEqual(written.shift(), frame({ proc: 60, serial: 2 }, i32(10)));
      socket.push(reply(60, 2, i32(1)));
      assert.equal(await feature, true);

      // serial 3: GET_HOSTNAME before CONNECT_OPEN → the error reply of §1.7
      const hostname = rpc.call(C.connectGetHostname, undefined);
      assert.deepEqual(written.shift(), frame({ proc: 59, serial: 3 }));
      dribble(socket, GET_HOSTNAME_ERROR_REPLY);
      await assert.rejects(hostname, (err: unknown) => {
        assert.ok(err instanceof LibvirtRemoteError);
        assert.equal(err.virCode, 1);
        assert.equal(err.virDomain, 7);
        assert.equal(err.virCodeName, 'VIR_ERR_INTERNAL_ERROR');
        assert.equal(err.procedure, 'CONNECT_GET_HOSTNAME');
        assert.deepEqual(err.fields, HOSTNAME_ERROR);
        assert.equal(
          err.message,
          'CONNECT_GET_HOSTNAME failed: internal error: hypervisor connection not open (VIR_ERR_INTERNAL_ERROR, domain 7)',
        );
        return true;
      });

      // serial 4: CONNECT_OPEN "qemu:///system"
      const open = rpc.call(C.connectOpen, { name: 'qemu:///system', flags: 0 });
      assert.deepEqual(written.shift(), CONNECT_OPEN_CALL);
      dribble(socket, CONNECT_OPEN_REPLY);
      await open; // void: resolves with nothing

      // The server's PING is answered with exactly the PONG frame.
      dribble(socket, KEEPALIVE_PING);
      await setImmediate();
      assert.deepEqual(written.shift(), KEEPALIVE_PONG);

      // The lifecycle event goes to the message handler with its header, serial 1 and all.
      dribble(socket, LIFECYCLE_EVENT);
      await setImmediate();
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]?.h, decodeHeader(LIFECYCLE_EVENT));
      assert.deepEqual(events[0]?.payload, LIFECYCLE_EVENT.subarray(PAYLOAD_OFFSET));

      assert.equal(written.length, 0, 'nothing else was written');
      assert.equal(rpc.isClosed, false);
      rpc.destroy('client', null);
      assert.deepEqual(await rpc.closed, { reason: 'client', error: null, message: 'client' });
    },
  );
});
