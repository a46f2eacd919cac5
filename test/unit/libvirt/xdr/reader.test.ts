import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LibvirtErrorCode, LibvirtProtocolError } from '../../../../agent/libvirt/errors.ts';
import { XdrReader } from '../../../../agent/libvirt/xdr/reader.ts';
import {
  arr,
  cat,
  dbl,
  fixed,
  hex,
  hyper,
  i32,
  opaque,
  opt,
  str,
  u32,
} from '../../../helpers/xdr-builders.ts';

const r = (...parts: Buffer[]): XdrReader => new XdrReader(cat(...parts));

/** Asserts a LibvirtProtocolError whose message matches `re`. */
function protocolError(re: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(
      err instanceof LibvirtProtocolError,
      `expected LibvirtProtocolError, got ${String(err)}`,
    );
    assert.equal(err.code, LibvirtErrorCode.PROTOCOL);
    assert.match(err.message, re);
    return true;
  };
}

describe('XdrReader scalars', () => {
  it('reads int as two’s complement and unsigned int without sign', () => {
    const x = r(hex`ffffffff 7fffffff 80000000 ffffffff 80000000`);
    assert.equal(x.int32(), -1);
    assert.equal(x.int32(), 0x7fffffff);
    assert.equal(x.int32(), -0x80000000);
    assert.equal(x.uint32(), 0xffffffff);
    assert.equal(x.uint32(), 0x80000000);
    assert.equal(x.remaining, 0);
    x.done('scalars');
  });

  it('reads hyper and unsigned hyper as bigint at their edge values', () => {
    const x = r(
      hex`8000000000000000`, // hyper min
      hex`7fffffffffffffff`, // hyper max
      hex`ffffffffffffffff`, // hyper -1
      hex`0000000000000000`, // uhyper 0
      hex`ffffffffffffffff`, // uhyper max
      hex`8000000000000000`, // uhyper 2^63
      hex`0020000000000001`, // 2^53 + 1: past Number's exact range
    );
    assert.equal(x.hyper(), -(2n ** 63n));
    assert.equal(x.hyper(), 2n ** 63n - 1n);
    assert.equal(x.hyper(), -1n);
    assert.equal(x.uhyper(), 0n);
    assert.equal(x.uhyper(), 2n ** 64n - 1n);
    assert.equal(x.uhyper(), 2n ** 63n);
    assert.equal(x.uhyper(), 2n ** 53n + 1n);
    x.done('hypers');
  });

  it('reads IEEE-754 doubles, including -0, infinities and NaN', () => {
    const x = r(dbl(3.25), dbl(-0), dbl(Infinity), dbl(-Infinity), dbl(NaN));
    assert.equal(x.double(), 3.25);
    assert.ok(Object.is(x.double(), -0));
    assert.equal(x.double(), Infinity);
    assert.equal(x.double(), -Infinity);
    assert.ok(Number.isNaN(x.double()));
  });

  it('reads bool 0 and 1 and rejects any other int', () => {
    const x = r(i32(0), i32(1), i32(2));
    assert.equal(x.bool(), false);
    assert.equal(x.bool(), true);
    assert.throws(() => x.bool(), protocolError(/bool: value is 2/));
    assert.throws(() => r(i32(-1)).bool(), protocolError(/value is -1/));
  });

  it('refuses to read a scalar past the end and does not move the cursor', () => {
    const x = r(hex`000000`);
    assert.throws(() => x.int32(), protocolError(/needs 4 bytes at offset 0, payload has 3 left/));
    assert.throws(() => x.uint32(), protocolError(/unsigned int/));
    assert.equal(x.offset, 0);
    const y = r(hex`00000000 000000`);
    assert.throws(() => y.hyper(), protocolError(/hyper: needs 8 bytes/));
    assert.throws(() => y.uhyper(), protocolError(/unsigned hyper/));
    assert.throws(() => y.double(), protocolError(/double/));
    assert.equal(y.offset, 0);
  });

  it('starts at the offset it is given', () => {
    const x = new XdrReader(cat(u32(1), u32(2), u32(3)), 4);
    assert.equal(x.offset, 4);
    assert.equal(x.remaining, 8);
    assert.equal(x.uint32(), 2);
  });
});

describe('XdrReader strings and opaques', () => {
  it('reads a string with its padding, an empty string and a 4-byte-aligned one', () => {
    const x = r(str('abc'), str(''), str('abcd'), u32(7));
    assert.equal(x.string(100), 'abc');
    assert.equal(x.offset, 8);
    assert.equal(x.string(100), '');
    assert.equal(x.offset, 12);
    assert.equal(x.string(100), 'abcd');
    assert.equal(x.offset, 20);
    assert.equal(x.uint32(), 7);
  });

  it('decodes UTF-8 byte lengths, not character counts', () => {
    const x = r(str('žluť 🐎'));
    assert.equal(x.string(11), 'žluť 🐎');
    assert.throws(
      () => r(str('žluť 🐎')).string(10),
      protocolError(/length 11 exceeds maximum 10/),
    );
  });

  it('rejects a string longer than its maximum before touching the body', () => {
    // Length word 4 MiB + 1 with no body: the max check must come first.
    assert.throws(
      () => r(u32(4_194_305)).string(4_194_304),
      protocolError(/string: length 4194305 exceeds maximum 4194304/),
    );
  });

  it('rejects a string length larger than the bytes left', () => {
    assert.throws(
      () => r(u32(8), hex`61626364`).string(100),
      protocolError(/string body: needs 8 bytes at offset 4, payload has 4 left/),
    );
    assert.throws(() => r(u32(0xffffffff)).string(0xffffffff), protocolError(/needs 4294967295/));
  });

  it('requires the padding after a string or opaque body', () => {
    assert.throws(() => r(u32(3), hex`616263`).string(10), protocolError(/padding/));
    assert.throws(() => r(u32(1), hex`61 0000`).opaque(10), protocolError(/padding/));
    assert.throws(() => r(hex`0102030405`).fixedOpaque(5), protocolError(/padding/));
  });

  it('reads variable opaque with a maximum and returns a copy', () => {
    const src = cat(opaque(hex`0102030405`));
    const x = new XdrReader(src);
    const out = x.opaque(5);
    assert.deepEqual(out, hex`0102030405`);
    src[4] = 0xee;
    assert.equal(out[0], 1, 'the result must not alias the payload');
    assert.equal(x.remaining, 0);
    assert.throws(
      () => r(opaque(hex`0102030405`)).opaque(4),
      protocolError(/opaque: length 5 exceeds maximum 4/),
    );
  });

  it('reads fixed opaque without a length word (a UUID is 16 raw bytes)', () => {
    const uuid = hex`6695eb01f6a4830479aa97f2502e193f`;
    const x = r(fixed(uuid), fixed(hex`aabbcc`), u32(9));
    assert.deepEqual(x.fixedOpaque(16), uuid);
    assert.deepEqual(x.fixedOpaque(3), hex`aabbcc`);
    assert.equal(x.uint32(), 9);
  });
});

describe('XdrReader arrays and optionals', () => {
  const int = (x: XdrReader): number => x.int32();

  it('reads a counted array', () => {
    assert.deepEqual(r(arr([i32(5), i32(-6), i32(7)])).array(10, int), [5, -6, 7]);
    assert.deepEqual(r(arr([])).array(0, int), []);
  });

  it('rejects a count above the maximum before reading any element', () => {
    let calls = 0;
    assert.throws(
      () =>
        r(u32(0xffffffff)).array(16_384, (x) => {
          calls++;
          return x.int32();
        }),
      protocolError(/array: length 4294967295 exceeds maximum 16384/),
    );
    assert.equal(calls, 0);
  });

  it('rejects a count that cannot fit in the bytes left, before reading any element', () => {
    let calls = 0;
    assert.throws(
      () =>
        r(u32(3), i32(1), i32(2)).array(16_384, (x) => {
          calls++;
          return x.int32();
        }),
      protocolError(/array elements: needs 12 bytes/),
    );
    assert.equal(calls, 0, 'a lying count is caught before decoding starts');
  });

  it('fails inside an element when the count fits 4-byte units but the elements are bigger', () => {
    // 2 hypers announced, 12 bytes left: passes the 4-bytes-per-element check, fails on the read.
    assert.throws(
      () => r(u32(2), hyper(1n), i32(0)).array(10, (x) => x.hyper()),
      protocolError(/hyper: needs 8 bytes at offset 12, payload has 4 left/),
    );
  });

  it('reads optional data: flag 0 is absent, 1 is present, and any non-zero flag is present', () => {
    assert.equal(r(u32(0)).optional(int), null);
    assert.equal(r(opt(i32(42))).optional(int), 42);
    // go-libvirt sends 01 00 00 00 and the daemon accepts it; we read it the same way.
    assert.equal(r(hex`01000000`, i32(43)).optional(int), 43);
    assert.throws(() => r(hex`0000`).optional(int), protocolError(/unsigned int/));
    assert.throws(() => r(u32(1)).optional(int), protocolError(/int: needs 4/));
  });
});

describe('XdrReader.done', () => {
  it('accepts a fully consumed payload and rejects trailing bytes', () => {
    const x = r(u32(1), u32(2));
    x.uint32();
    assert.throws(
      () => {
        x.done('CONNECT_GET_TYPE reply');
      },
      protocolError(/CONNECT_GET_TYPE reply: 4 trailing bytes after offset 4/),
    );
    x.uint32();
    x.done('CONNECT_GET_TYPE reply');
    r().done('empty');
  });
});
