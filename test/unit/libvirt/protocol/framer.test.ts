import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LibvirtProtocolError } from '../../../../agent/libvirt/errors.ts';
import { MAX_FRAME_BYTES } from '../../../../agent/libvirt/protocol/constants.ts';
import { Framer } from '../../../../agent/libvirt/protocol/framer.ts';
import { ALL_FRAMES } from '../../../fixtures/xdr/rpc-examples.ts';
import { cat, frame, i32, splits, str, u32 } from '../../../helpers/xdr-builders.ts';

const FIXTURES = Object.entries(ALL_FRAMES);
const ALL = cat(...FIXTURES.map(([, f]) => f));

/** Feeds chunks and returns every frame, copied (so later pushes cannot alias them). */
function feed(framer: Framer, chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) for (const f of framer.push(c)) out.push(Buffer.from(f));
  return out;
}

function lengthError(value: number): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof LibvirtProtocolError, String(err));
    assert.equal(
      err.message,
      `Cannot decode frame as length word must be between 28 and ${MAX_FRAME_BYTES}: current value is ${value}`,
    );
    return true;
  };
}

describe('Framer with the §1.7 fixtures', () => {
  for (const [name, fixture] of FIXTURES) {
    it(`emits ${name} whole, split at every offset and byte by byte`, () => {
      let cases = 0;
      for (const chunks of splits(fixture)) {
        const framer = new Framer();
        assert.deepEqual(
          feed(framer, chunks),
          [fixture],
          `split ${chunks.map((c) => c.length).join('+')}`,
        );
        assert.equal(framer.bufferedBytes, 0);
        cases++;
      }
      assert.equal(cases, fixture.length + 2);
    });
  }

  it('emits several frames from one chunk, in order', () => {
    const framer = new Framer();
    assert.deepEqual(
      feed(framer, [ALL]),
      FIXTURES.map(([, f]) => f),
    );
    assert.equal(framer.bufferedBytes, 0);
  });

  it('emits the same frames from the concatenation split at every offset', () => {
    for (const chunks of splits(ALL)) {
      assert.deepEqual(
        feed(new Framer(), chunks),
        FIXTURES.map(([, f]) => f),
      );
    }
  });

  it('emits the same frames from the concatenation cut in three at many offsets', () => {
    for (let i = 0; i < ALL.length; i += 3) {
      for (let j = i; j < ALL.length; j += 7) {
        const chunks = [ALL.subarray(0, i), ALL.subarray(i, j), ALL.subarray(j)];
        assert.deepEqual(
          feed(new Framer(), chunks),
          FIXTURES.map(([, f]) => f),
        );
      }
    }
  });

  it('holds exactly the bytes of an incomplete frame', () => {
    const framer = new Framer();
    const f = ALL_FRAMES['GET_HOSTNAME_ERROR_REPLY']!;
    assert.deepEqual(framer.push(f.subarray(0, 3)), []);
    assert.equal(framer.bufferedBytes, 3);
    assert.deepEqual(framer.push(f.subarray(3, 100)), []);
    assert.equal(framer.bufferedBytes, 100);
    assert.deepEqual(framer.push(Buffer.alloc(0)), []);
    assert.equal(framer.bufferedBytes, 100);
    assert.deepEqual(feed(framer, [f.subarray(100), f.subarray(0, 5)]), [f]);
    assert.equal(framer.bufferedBytes, 5);
  });
});

describe('Framer copies', () => {
  it('hands out a frame that sits in one chunk without copying it', () => {
    const a = frame({ proc: 1, serial: 1, type: 1 });
    const b = frame({ proc: 59, serial: 2, type: 1 }, str('host'));
    const chunk = cat(a, b, a.subarray(0, 10));
    const framer = new Framer();
    const [fa, fb, ...rest] = framer.push(chunk);
    assert.equal(rest.length, 0);
    assert.ok(fa && fb);
    assert.equal(fa.buffer, chunk.buffer, 'first frame shares the chunk memory');
    assert.equal(fa.byteOffset, chunk.byteOffset);
    assert.equal(fb.buffer, chunk.buffer, 'second frame shares the chunk memory');
    assert.equal(fb.byteOffset, chunk.byteOffset + a.length);
    assert.deepEqual(fb, b);
    assert.equal(framer.bufferedBytes, 10);
  });

  it('joins a frame split over chunks into one new buffer', () => {
    const f = frame({ proc: 59, serial: 2, type: 1 }, str('x'.repeat(200_000)));
    const chunks: Buffer[] = [];
    for (let i = 0; i < f.length; i += 65_536) chunks.push(f.subarray(i, i + 65_536));
    const framer = new Framer();
    const out = chunks.flatMap((c) => framer.push(c));
    assert.equal(out.length, 1);
    assert.deepEqual(out[0], f);
    assert.notEqual(out[0]?.buffer, f.buffer);
  });
});

describe('Framer length word validation', () => {
  for (const len of [0, 1, 4, 27]) {
    it(`rejects a length word of ${len} (below 28)`, () => {
      assert.throws(() => new Framer().push(u32(len)), lengthError(len));
    });
  }

  it('accepts the smallest frame (28) and the largest length word (4 + 32 MiB)', () => {
    assert.equal(new Framer().push(frame({ proc: 1 })).length, 1);
    const framer = new Framer();
    assert.deepEqual(framer.push(u32(MAX_FRAME_BYTES)), []);
    assert.equal(MAX_FRAME_BYTES, 33_554_436);
    assert.equal(framer.bufferedBytes, 4, 'nothing allocated for the announced 32 MiB');
  });

  for (const len of [MAX_FRAME_BYTES + 1, 0x7fffffff, 0xffffffff]) {
    it(`rejects a length word of ${len} before allocating its body`, () => {
      const framer = new Framer();
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(() => framer.push(cat(u32(len), Buffer.alloc(100))), lengthError(len));
      assert.equal(framer.bufferedBytes, 0, 'the bytes are dropped, not kept');
      assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024, 'no body was allocated');
    });
  }

  it('validates a length word split over four chunks as soon as its last byte arrives', () => {
    const framer = new Framer();
    const word = u32(0x7fffffff);
    for (let i = 0; i < 3; i++) assert.deepEqual(framer.push(word.subarray(i, i + 1)), []);
    assert.equal(framer.bufferedBytes, 3);
    assert.throws(() => framer.push(word.subarray(3)), lengthError(0x7fffffff));
  });

  it('stays poisoned after an error: every later push throws the same error', () => {
    const framer = new Framer();
    let first: unknown;
    try {
      framer.push(u32(5));
    } catch (err) {
      first = err;
    }
    assert.ok(first instanceof LibvirtProtocolError);
    assert.throws(
      () => framer.push(frame({ proc: 1 })),
      (err) => err === first,
    );
    assert.throws(
      () => framer.push(Buffer.alloc(0)),
      (err) => err === first,
    );
    assert.equal(framer.bufferedBytes, 0);
  });

  it('keeps the bytes of a valid length word that announces 32 MiB to what arrived', () => {
    const framer = new Framer();
    const before = process.memoryUsage().arrayBuffers;
    framer.push(cat(u32(MAX_FRAME_BYTES), u32(0x20008086), Buffer.alloc(1000)));
    assert.equal(framer.bufferedBytes, 1008);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  });

  it('does not lose whole frames that precede an invalid length word in the same chunk', () => {
    const good = frame({ proc: 318, serial: 1, type: 2 }, i32(7));
    const chunk = cat(good, good, u32(3));
    for (const chunks of splits(chunk)) {
      const framer = new Framer();
      const got: Buffer[] = [];
      let error: unknown = null;
      for (const c of chunks) {
        try {
          framer.push(c, got);
        } catch (err) {
          error = err;
          break;
        }
      }
      assert.ok(error instanceof LibvirtProtocolError, 'the violation is still reported');
      assert.deepEqual(
        got.map((f) => Buffer.from(f)),
        [good, good],
        `split ${chunks.map((c) => c.length).join('+')}`,
      );
    }
  });
});
