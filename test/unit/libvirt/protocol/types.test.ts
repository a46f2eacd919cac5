import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  LibvirtError,
  LibvirtErrorCode,
  LibvirtProtocolError,
  LibvirtRemoteError,
} from '../../../../agent/libvirt/errors.ts';
import {
  readDomain,
  readRemoteError,
  readSnapshot,
  readTypedParams,
  TypedParamType,
  uuidFromBytes,
  uuidToBytes,
  writeDomain,
  writeSnapshot,
  writeTypedParams,
} from '../../../../agent/libvirt/protocol/types.ts';
import type { TypedParamInput } from '../../../../agent/libvirt/protocol/types.ts';
import { XdrReader } from '../../../../agent/libvirt/xdr/reader.ts';
import { XdrWriter } from '../../../../agent/libvirt/xdr/writer.ts';
import {
  arr,
  cat,
  dom,
  i32,
  opt,
  optStr,
  remoteError,
  str,
  TEST_UUID,
  tp,
  tpRaw,
  u32,
  uuid,
} from '../../../helpers/xdr-builders.ts';

const rd = (...parts: Buffer[]): XdrReader => new XdrReader(cat(...parts));

describe('typed params (remote_typed_param)', () => {
  it('decodes all seven types, 64-bit values as bigint', () => {
    const r = rd(
      arr([
        tp.int('state.state', -5),
        tp.uint('cpu.cache.monitor.count', 0xffffffff),
        tp.llong('rtc.offset', -(2n ** 63n)),
        tp.ullong('cpu.time', 2n ** 64n - 1n),
        tp.double('dirtyrate', 0.125),
        tp.boolean('success', true),
        tp.string('block.0.name', 'vda'),
      ]),
    );
    const params = readTypedParams(r, 64);
    r.done('params');
    assert.deepEqual(
      { ...params },
      {
        'state.state': -5,
        'cpu.cache.monitor.count': 0xffffffff,
        'rtc.offset': -(2n ** 63n),
        'cpu.time': 2n ** 64n - 1n,
        dirtyrate: 0.125,
        success: true,
        'block.0.name': 'vda',
      },
    );
    assert.deepEqual(Object.keys(params), [
      'state.state',
      'cpu.cache.monitor.count',
      'rtc.offset',
      'cpu.time',
      'dirtyrate',
      'success',
      'block.0.name',
    ]);
  });

  it('decodes boolean 0 as false', () => {
    assert.equal(readTypedParams(rd(arr([tp.boolean('success', false)])), 1)['success'], false);
  });

  for (const code of [0, 8, -1, 0x7fffffff]) {
    it(`rejects unknown type code ${code}: it cannot be skipped`, () => {
      assert.throws(
        () => readTypedParams(rd(arr([tp.int('a', 1), tpRaw('weird', code, i32(0))])), 64),
        (err: unknown) =>
          err instanceof LibvirtProtocolError &&
          err.message === `Cannot decode typed param "weird": unknown type code ${code}`,
      );
    });
  }

  it('rejects more params than the maximum and a count that cannot fit', () => {
    assert.throws(
      () => readTypedParams(rd(arr([tp.int('a', 1), tp.int('b', 2)])), 1),
      /typed params: 2 exceeds maximum 1/,
    );
    // 3 entries need at least 36 bytes; 24 are left.
    assert.throws(
      () => readTypedParams(rd(u32(3), tp.int('a', 1), u32(0)), 64),
      (err: unknown) =>
        err instanceof LibvirtProtocolError && /3 entries do not fit/.test(err.message),
    );
  });

  it('keeps a "__proto__" field as data, without touching any prototype', () => {
    const params = readTypedParams(
      rd(arr([tp.int('__proto__', 7), tp.string('constructor', 'x')])),
      4,
    );
    assert.equal(Object.getPrototypeOf(params), null);
    assert.equal(params['__proto__'], 7);
    assert.equal(params['constructor'], 'x');
    assert.equal(({} as Record<string, unknown>)['__proto__'], Object.prototype);
  });

  it('encodes all seven types to the bytes libvirt expects', () => {
    const input: TypedParamInput[] = [
      { field: 'i', type: TypedParamType.INT, value: -5 },
      { field: 'u', type: TypedParamType.UINT, value: 0xffffffff },
      { field: 'l', type: TypedParamType.LLONG, value: -(2n ** 63n) },
      { field: 'L', type: TypedParamType.LLONG, value: 12 },
      { field: 'ul', type: TypedParamType.ULLONG, value: 2n ** 64n - 1n },
      { field: 'd', type: TypedParamType.DOUBLE, value: 0.125 },
      { field: 'b', type: TypedParamType.BOOLEAN, value: true },
      { field: 's', type: TypedParamType.STRING, value: 'file' },
    ];
    const w = new XdrWriter();
    writeTypedParams(w, input, 64);
    assert.deepEqual(
      w.bytes(),
      arr([
        tp.int('i', -5),
        tp.uint('u', 0xffffffff),
        tp.llong('l', -(2n ** 63n)),
        tp.llong('L', 12n),
        tp.ullong('ul', 2n ** 64n - 1n),
        tp.double('d', 0.125),
        tp.boolean('b', true),
        tp.string('s', 'file'),
      ]),
    );
  });

  it('refuses a value that does not match its declared type, and too many params', () => {
    const bad = (p: TypedParamInput): void => {
      writeTypedParams(new XdrWriter(), [p], 64);
    };
    assert.throws(
      () => {
        bad({ field: 'x', type: TypedParamType.INT, value: 'one' });
      },
      (err: unknown) =>
        err instanceof LibvirtError &&
        err.code === LibvirtErrorCode.INVALID_ARGUMENT &&
        /typed param x: value one does not match type 1/.test(err.message),
    );
    assert.throws(() => {
      bad({ field: 'x', type: TypedParamType.STRING, value: 1 });
    }, /type 7/);
    assert.throws(() => {
      bad({ field: 'x', type: TypedParamType.BOOLEAN, value: 1 });
    }, /type 6/);
    assert.throws(() => {
      bad({ field: 'x', type: TypedParamType.ULLONG, value: true });
    }, /type 4/);
    assert.throws(() => {
      writeTypedParams(
        new XdrWriter(),
        [
          { field: 'a', type: 1, value: 1 },
          { field: 'b', type: 1, value: 2 },
        ],
        1,
      );
    }, /2 elements exceeds maximum 1/);
  });
});

describe('domains, snapshots and UUIDs', () => {
  it('reads and writes remote_nonnull_domain (name, raw 16-byte uuid, id)', () => {
    const r = rd(dom('test', 1));
    assert.deepEqual(readDomain(r), { name: 'test', uuid: TEST_UUID, id: 1 });
    r.done('dom');
    const w = new XdrWriter();
    writeDomain(w, { name: 'test', uuid: TEST_UUID, id: 1 });
    assert.deepEqual(w.bytes(), dom('test', 1));
  });

  it('sends an empty name and id -1 when only the UUID is known (the daemon uses the UUID)', () => {
    const w = new XdrWriter();
    writeDomain(w, { uuid: TEST_UUID.toUpperCase().replace(/-/g, '') });
    assert.deepEqual(w.bytes(), cat(str(''), uuid(TEST_UUID), i32(-1)));
  });

  it('refuses a malformed UUID', () => {
    for (const bad of ['', 'xyz', `${TEST_UUID}0`, TEST_UUID.slice(1)]) {
      assert.throws(
        () => uuidToBytes(bad),
        (err: unknown) =>
          err instanceof LibvirtError && err.code === LibvirtErrorCode.INVALID_ARGUMENT,
        bad,
      );
    }
    assert.equal(uuidFromBytes(uuid(TEST_UUID)), TEST_UUID);
  });

  it('reads and writes a snapshot as its name and its domain', () => {
    const bytes = cat(str('s1'), dom('test', -1));
    assert.deepEqual(readSnapshot(rd(bytes)), {
      name: 's1',
      domain: { name: 'test', uuid: TEST_UUID, id: -1 },
    });
    const w = new XdrWriter();
    writeSnapshot(w, { name: 's1', domain: { name: 'test', uuid: TEST_UUID, id: -1 } });
    assert.deepEqual(w.bytes(), bytes);
  });
});

describe('remote_error', () => {
  it('reads all eleven fields in order, with dom and net present', () => {
    const r = rd(
      i32(42), // code NO_DOMAIN
      i32(10), // domain QEMU
      optStr("Domain not found: no domain with matching name 'x'"),
      i32(2), // level
      opt(dom('x', 3)), // dom: present (unused)
      optStr('Domain not found: %s'),
      optStr("no domain with matching name 'x'"),
      optStr(null),
      i32(-1),
      i32(7),
      opt(cat(str('default'), uuid(TEST_UUID))), // net: present (unused)
    );
    assert.deepEqual(readRemoteError(r), {
      code: 42,
      domain: 10,
      message: "Domain not found: no domain with matching name 'x'",
      level: 2,
      str1: 'Domain not found: %s',
      str2: "no domain with matching name 'x'",
      str3: null,
      int1: -1,
      int2: 7,
    });
    r.done('remote_error');
  });

  it('reads an error without a message (go-libvirt misreads this one)', () => {
    const fields = readRemoteError(rd(remoteError({ code: 39, domain: 7, message: null })));
    assert.equal(fields.message, null);
    const e = new LibvirtRemoteError('CONNECT_GET_HOSTNAME', fields);
    assert.equal(e.message, 'CONNECT_GET_HOSTNAME failed: no message (VIR_ERR_RPC, domain 7)');
    assert.equal(e.virCodeName, 'VIR_ERR_RPC');
    assert.equal(e.code, LibvirtErrorCode.REMOTE);
  });

  it('fails cleanly on a truncated error payload', () => {
    const full = remoteError({ message: 'boom' });
    for (let cut = 0; cut < full.length; cut += 4) {
      assert.throws(
        () => readRemoteError(new XdrReader(full.subarray(0, cut))),
        LibvirtProtocolError,
      );
    }
  });
});
