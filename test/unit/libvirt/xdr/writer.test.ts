import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { LibvirtError, LibvirtErrorCode } from '../../../../agent/libvirt/errors.ts';
import { XdrReader } from '../../../../agent/libvirt/xdr/reader.ts';
import { XdrWriter } from '../../../../agent/libvirt/xdr/writer.ts';
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
  uhyper,
} from '../../../helpers/xdr-builders.ts';

function invalidArgument(re: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof LibvirtError, `expected LibvirtError, got ${String(err)}`);
    assert.equal(err.code, LibvirtErrorCode.INVALID_ARGUMENT);
    assert.match(err.message, re);
    return true;
  };
}

const w = (): XdrWriter => new XdrWriter();

describe('XdrWriter scalars', () => {
  it('writes ints, unsigned ints, hypers and doubles big-endian', () => {
    const out = w()
      .int32(-1)
      .int32(0x7fffffff)
      .int32(-0x80000000)
      .uint32(0xffffffff)
      .hyper(-(2n ** 63n))
      .hyper(2n ** 63n - 1n)
      .uhyper(2n ** 64n - 1n)
      .uhyper(0n)
      .double(3.25)
      .bool(true)
      .bool(false)
      .bytes();
    assert.deepEqual(
      out,
      cat(
        i32(-1),
        i32(0x7fffffff),
        i32(-0x80000000),
        u32(0xffffffff),
        hyper(-(2n ** 63n)),
        hyper(2n ** 63n - 1n),
        uhyper(2n ** 64n - 1n),
        uhyper(0n),
        dbl(3.25),
        i32(1),
        i32(0),
      ),
    );
  });

  it('refuses ints outside 32 bits or not integers', () => {
    assert.throws(
      () => w().int32(0x80000000),
      invalidArgument(/int: 2147483648 is not a 32-bit signed/),
    );
    assert.throws(() => w().int32(-0x80000001), invalidArgument(/-2147483649/));
    assert.throws(() => w().int32(1.5), invalidArgument(/1.5/));
    assert.throws(() => w().int32(NaN), invalidArgument(/NaN/));
    assert.throws(() => w().uint32(-1), invalidArgument(/unsigned int: -1/));
    assert.throws(() => w().uint32(2 ** 32), invalidArgument(/4294967296/));
  });

  it('refuses hypers outside 64 bits and leaves the writer untouched', () => {
    const x = w().uint32(1);
    assert.throws(
      () => x.hyper(2n ** 63n),
      invalidArgument(/hyper: 9223372036854775808 does not fit/),
    );
    assert.throws(() => x.hyper(-(2n ** 63n) - 1n), invalidArgument(/does not fit/));
    assert.throws(() => x.uhyper(-1n), invalidArgument(/-1 does not fit/));
    assert.throws(() => x.uhyper(2n ** 64n), invalidArgument(/18446744073709551616/));
    assert.equal(x.length, 4);
    assert.deepEqual(x.bytes(), u32(1));
  });
});

describe('XdrWriter strings, opaques, arrays, optionals', () => {
  it('pads strings and opaques with zero bytes to 4-byte units', () => {
    assert.deepEqual(w().string('abc', 10).bytes(), hex`00000003 61626300`);
    assert.deepEqual(w().string('', 10).bytes(), hex`00000000`);
    assert.deepEqual(w().string('abcd', 10).bytes(), hex`00000004 61626364`);
    assert.deepEqual(
      w()
        .opaque(hex`0102030405`, 5)
        .bytes(),
      opaque(hex`0102030405`),
    );
    assert.deepEqual(
      w()
        .fixedOpaque(hex`aabbcc`, 3)
        .bytes(),
      fixed(hex`aabbcc`),
    );
  });

  it('measures the string maximum in UTF-8 bytes', () => {
    assert.deepEqual(w().string('é', 2).bytes(), str('é'));
    assert.throws(() => w().string('é', 1), invalidArgument(/string: 2 bytes exceeds maximum 1/));
  });

  it('refuses opaques over their maximum and fixed opaques of the wrong size', () => {
    assert.throws(
      () => w().opaque(Buffer.alloc(5), 4),
      invalidArgument(/opaque: 5 bytes exceeds maximum 4/),
    );
    assert.throws(
      () => w().fixedOpaque(Buffer.alloc(15), 16),
      invalidArgument(/opaque\[16\]: got 15 bytes/),
    );
  });

  it('writes arrays with a count and refuses more elements than the maximum', () => {
    const enc = (x: XdrWriter, v: number): void => {
      x.int32(v);
    };
    assert.deepEqual(w().array([1, -2], 2, enc).bytes(), arr([i32(1), i32(-2)]));
    assert.throws(
      () => w().array([1, 2, 3], 2, enc),
      invalidArgument(/array: 3 elements exceeds maximum 2/),
    );
  });

  it('writes optional data with flag 1, and flag 0 for null and undefined', () => {
    const enc = (x: XdrWriter, v: string): void => {
      x.string(v, 100);
    };
    assert.deepEqual(w().optional('g1', enc).bytes(), opt(str('g1')));
    assert.deepEqual(w().optional(null, enc).bytes(), u32(0));
    assert.deepEqual(w().optional(undefined, enc).bytes(), u32(0));
  });
});

describe('XdrWriter buffer management', () => {
  it('grows past its initial size without losing bytes', () => {
    const x = new XdrWriter(4);
    for (let i = 0; i < 10_000; i++) x.uint32(i);
    const b = x.bytes();
    assert.equal(b.length, 40_000);
    for (let i = 0; i < 10_000; i++) assert.equal(b.readUInt32BE(i * 4), i);
    const big = 'x'.repeat(100_003);
    assert.deepEqual(new XdrWriter(4).string(big, 200_000).bytes(), str(big));
  });

  it('reserves room for the frame header and patches words in place', () => {
    const x = new XdrWriter(8, 28);
    assert.equal(x.length, 28);
    x.uint32(0xdeadbeef);
    x.patchUint32(0, x.length);
    const b = x.bytes();
    assert.equal(b.length, 32);
    assert.equal(b.readUInt32BE(0), 32);
    assert.equal(b.readUInt32BE(28), 0xdeadbeef);
  });
});

type Op =
  | { t: 'int32'; v: number }
  | { t: 'uint32'; v: number }
  | { t: 'hyper'; v: bigint }
  | { t: 'uhyper'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'string'; v: string }
  | { t: 'opaque'; v: Uint8Array }
  | { t: 'optional'; v: number | null }
  | { t: 'array'; v: number[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((v) => ({ t: 'int32' as const, v })),
  fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ t: 'uint32' as const, v })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ t: 'hyper' as const, v })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ t: 'uhyper' as const, v })),
  fc.double({ noNaN: true }).map((v) => ({ t: 'double' as const, v })),
  fc.boolean().map((v) => ({ t: 'bool' as const, v })),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((v) => ({ t: 'string' as const, v })),
  fc.uint8Array({ maxLength: 19 }).map((v) => ({ t: 'opaque' as const, v })),
  fc
    .option(fc.integer({ min: -5, max: 5 }), { nil: null })
    .map((v) => ({ t: 'optional' as const, v })),
  fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { maxLength: 8 }).map((v) => ({
    t: 'array' as const,
    v,
  })),
);

describe('XdrWriter and XdrReader together', () => {
  it('read back exactly what was written, for any sequence of items (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const x = new XdrWriter(8);
        for (const op of ops) {
          switch (op.t) {
            case 'int32':
              x.int32(op.v);
              break;
            case 'uint32':
              x.uint32(op.v);
              break;
            case 'hyper':
              x.hyper(op.v);
              break;
            case 'uhyper':
              x.uhyper(op.v);
              break;
            case 'double':
              x.double(op.v);
              break;
            case 'bool':
              x.bool(op.v);
              break;
            case 'string':
              x.string(op.v, 1000);
              break;
            case 'opaque':
              x.opaque(op.v, 1000);
              break;
            case 'optional':
              x.optional(op.v, (xx, v) => xx.int32(v));
              break;
            case 'array':
              x.array(op.v, 8, (xx, v) => xx.int32(v));
              break;
          }
        }
        const bytes = x.bytes();
        assert.equal(bytes.length % 4, 0, 'XDR output is always whole 4-byte units');
        const rd = new XdrReader(Buffer.from(bytes));
        for (const op of ops) {
          switch (op.t) {
            case 'int32':
              assert.equal(rd.int32(), op.v);
              break;
            case 'uint32':
              assert.equal(rd.uint32(), op.v);
              break;
            case 'hyper':
              assert.equal(rd.hyper(), op.v);
              break;
            case 'uhyper':
              assert.equal(rd.uhyper(), op.v);
              break;
            case 'double':
              assert.ok(Object.is(rd.double(), op.v));
              break;
            case 'bool':
              assert.equal(rd.bool(), op.v);
              break;
            case 'string':
              assert.equal(rd.string(1000), op.v);
              break;
            case 'opaque':
              assert.deepEqual(new Uint8Array(rd.opaque(1000)), op.v);
              break;
            case 'optional':
              assert.equal(
                rd.optional((rr) => rr.int32()),
                op.v,
              );
              break;
            case 'array':
              assert.deepEqual(
                rd.array(8, (rr) => rr.int32()),
                op.v,
              );
              break;
          }
        }
        rd.done('round trip');
      }),
      { numRuns: 300 },
    );
  });
});
