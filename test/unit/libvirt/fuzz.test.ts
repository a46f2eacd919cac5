/**
 * Fuzzing with fast-check, each property bounded in runs and time. Whatever bytes arrive,
 * the outcome is a value, a typed LibvirtError or a closed connection: never another
 * exception, an uncaught error, a hang or an allocation driven by a hostile length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import fc from 'fast-check';

import { LibvirtClient } from '../../../agent/libvirt/api.ts';
import { LibvirtError, LibvirtProtocolError } from '../../../agent/libvirt/errors.ts';
import { EVENT_SPECS } from '../../../agent/libvirt/events/decode.ts';
import type { DomainEventName } from '../../../agent/libvirt/events/decode.ts';
import * as C from '../../../agent/libvirt/procedures/connect.ts';
import * as D from '../../../agent/libvirt/procedures/domain.ts';
import * as S from '../../../agent/libvirt/procedures/snapshot.ts';
import { MAX_FRAME_BYTES } from '../../../agent/libvirt/protocol/constants.ts';
import { Framer } from '../../../agent/libvirt/protocol/framer.ts';
import { readRemoteError } from '../../../agent/libvirt/protocol/types.ts';
import type { Procedure } from '../../../agent/libvirt/rpc/procedure.ts';
import { XdrReader } from '../../../agent/libvirt/xdr/reader.ts';
import { EVENT_CASES } from '../../fixtures/xdr/events.ts';
import { ALL_FRAMES } from '../../fixtures/xdr/rpc-examples.ts';
import { FakeLibvirtd } from '../../helpers/fake-libvirtd.ts';
import {
  cat,
  errorReply,
  eventFrame,
  i32,
  PING,
  Proc,
  reply,
  str,
  u32,
} from '../../helpers/xdr-builders.ts';

/** Every async test fails instead of hanging when a close, a reply or an event never comes. */
const TEST_TIMEOUT_MS = 10_000;

/** Runs of each property, and the time after which fast-check stops starting new ones. */
const RUNS = 400;
const TIME_LIMIT_MS = 4_000;

/**
 * The connection fuzz opens (serials 1–7), subscribes to lifecycle events (serial 8, callback
 * ID 100), then leaves GET_HOSTNAME (serial 9) and DOMAIN_GET_STATE (serial 10) pending.
 */
const CALLBACK_ID = 100;
const HOSTNAME_SERIAL = 9;
const STATE_SERIAL = 10;

/** Frames recorded from (or shaped like) a daemon talking to our client in that state. */
const RECORDED: readonly Buffer[] = [
  ...Object.values(ALL_FRAMES),
  reply(Proc.CONNECT_GET_HOSTNAME, HOSTNAME_SERIAL, str('vm')),
  reply(Proc.DOMAIN_GET_STATE, STATE_SERIAL, i32(1), i32(5)),
  errorReply(Proc.CONNECT_GET_HOSTNAME, HOSTNAME_SERIAL, { code: 42, message: 'gone' }),
  errorReply(Proc.DOMAIN_GET_STATE, STATE_SERIAL, { message: null, str1: 'x', str3: 'y' }),
  eventFrame(Proc.CONNECT_EVENT_CONNECTION_CLOSED, i32(1)),
  PING(),
  ...EVENT_CASES.map((c) => eventFrame(c.proc, i32(CALLBACK_ID), c.payload)),
];

type Region = 'length' | 'header' | 'payload' | 'anywhere';

/** A recorded frame with a few bytes overwritten in one region. */
const mutatedFrame: fc.Arbitrary<Buffer> = fc
  .record({
    frame: fc.constantFrom(...RECORDED),
    region: fc.constantFrom<Region>('length', 'header', 'payload', 'anywhere'),
    flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 4,
    }),
  })
  .map(({ frame, region, flips }) => {
    const out = Buffer.from(frame);
    const [start, end] =
      region === 'length'
        ? [0, 4]
        : region === 'header'
          ? [4, 28]
          : region === 'payload' && out.length > 28
            ? [28, out.length]
            : [0, out.length];
    for (const f of flips) out[start + (f.at % (end - start))] = f.value;
    return out;
  });

/** A recorded frame cut short. */
const truncatedFrame: fc.Arbitrary<Buffer> = fc
  .record({ frame: fc.constantFrom(...RECORDED), keep: fc.nat() })
  .map(({ frame, keep }) => frame.subarray(0, keep % frame.length));

const randomBytes: fc.Arbitrary<Buffer> = fc
  .uint8Array({ minLength: 1, maxLength: 200 })
  .map((b) => Buffer.from(b));

/** A stream: a few pieces, each random, recorded, mutated or truncated. */
const streamArb: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...RECORDED) },
      { weight: 3, arbitrary: mutatedFrame },
      { weight: 1, arbitrary: truncatedFrame },
      { weight: 1, arbitrary: randomBytes },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) => cat(...parts));

/** Cut points to re-split a stream into chunks. */
const cutsArb = fc.array(fc.nat(), { maxLength: 4 });

function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Collects uncaught exceptions and unhandled rejections while `fn` runs. */
async function watchUncaught(t: TestContext, fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const onError = (err: unknown): void => {
    seen.push(err);
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  t.after(() => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  });
  await fn();
  await sleep(20);
  assert.deepEqual(seen, [], 'no uncaught exception or unhandled rejection');
}

function expectProtocolErrorOnly(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof LibvirtProtocolError)) {
      assert.fail(`expected a value or LibvirtProtocolError, got ${String(err)}`);
    }
  }
}

describe('fuzz: Framer', () => {
  it('emits well-formed frames that are exactly a prefix of the input, or a LibvirtProtocolError', () => {
    fc.assert(
      fc.property(streamArb, cutsArb, (bytes, cuts) => {
        const framer = new Framer();
        const frames: Buffer[] = [];
        let error: unknown = null;
        let fed = 0;
        for (const chunk of chunked(bytes, cuts)) {
          try {
            for (const f of framer.push(chunk)) frames.push(Buffer.from(f));
            fed += chunk.length;
          } catch (err) {
            error = err;
            break;
          }
        }
        for (const f of frames) {
          const len = f.readUInt32BE(0);
          assert.equal(len, f.length);
          assert.ok(len >= 28 && len <= MAX_FRAME_BYTES);
        }
        const emitted = cat(...frames);
        assert.deepEqual(
          emitted,
          bytes.subarray(0, emitted.length),
          'frames are the input, in order',
        );
        if (error === null) {
          assert.equal(emitted.length + framer.bufferedBytes, fed, 'every byte is a frame or held');
          assert.ok(
            framer.bufferedBytes < 4 || bytes.readUInt32BE(emitted.length) > framer.bufferedBytes,
          );
        } else {
          assert.ok(error instanceof LibvirtProtocolError, 'only LibvirtProtocolError may escape');
          assert.equal(framer.bufferedBytes, 0);
          assert.throws(
            () => framer.push(Buffer.alloc(1)),
            (e) => e === error,
          );
        }
      }),
      {
        numRuns: RUNS * 2,
        plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
        includeErrorInReport: true,
      },
    );
  });
});

describe('fuzz: decoders', () => {
  it('event decoders return an event or throw LibvirtProtocolError, for random and mutated payloads', () => {
    const names = Object.keys(EVENT_SPECS) as DomainEventName[];
    const payloadArb = fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
      fc
        .record({
          c: fc.constantFrom(...EVENT_CASES),
          flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
            maxLength: 3,
          }),
          keep: fc.option(fc.nat()),
        })
        .map(({ c, flips, keep }) => {
          const b = Buffer.from(c.payload);
          for (const f of flips) b[f.at % b.length] = f.value;
          return keep === null ? b : b.subarray(0, keep % (b.length + 1));
        }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...names), payloadArb, (name, payload) => {
        expectProtocolErrorOnly(() => {
          const r = new XdrReader(payload);
          EVENT_SPECS[name].decode(r, 1, new Date(0));
          r.done(name);
        });
      }),
      {
        numRuns: RUNS * 5,
        plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
        includeErrorInReport: true,
      },
    );
  });

  it('reply decoders and remote_error return a value or throw LibvirtProtocolError', () => {
    const procs = (
      [...Object.values(C), ...Object.values(D), ...Object.values(S)] as unknown[]
    ).filter(
      (p): p is Procedure<unknown, unknown> =>
        typeof p === 'object' && p !== null && 'decode' in p && typeof p.decode === 'function',
    );
    assert.ok(procs.length > 30, `found ${procs.length} decoders`);
    fc.assert(
      fc.property(
        fc.constantFrom(...procs),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        (proc, payload) => {
          expectProtocolErrorOnly(() => {
            const r = new XdrReader(payload);
            proc.decode?.(r);
            r.done(proc.name);
          });
          expectProtocolErrorOnly(() => {
            readRemoteError(new XdrReader(payload));
          });
        },
      ),
      {
        numRuns: RUNS * 5,
        plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
        includeErrorInReport: true,
      },
    );
  });
});

describe('fuzz: connection', () => {
  it(
    'turns any bytes from the daemon into values, typed errors or a close, within a deadline',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      fake.on(Proc.CONNECT_GET_HOSTNAME, () => undefined);
      fake.on(Proc.DOMAIN_GET_STATE, () => undefined);
      fake.on(Proc.EVENT_REGISTER_ANY, (c, p) => {
        p.reply(c, i32(CALLBACK_ID));
      });
      const baseline = process.memoryUsage().arrayBuffers;
      let maxArrayBuffers = baseline;
      const outcomes = new Map<string, number>();
      const count = (k: string): void => {
        outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      };

      await watchUncaught(t, async () => {
        await fc.assert(
          fc.asyncProperty(streamArb, cutsArb, fc.boolean(), async (bytes, cuts, destroy) => {
            const client = await LibvirtClient.connect({
              socketPath: fake.socketPath,
              uri: 'test:///default',
              keepaliveIntervalMs: 0,
            });
            const sub = await client.subscribe({ events: ['lifecycle'], queueSize: 4 });
            const peer = await fake.nextPeer();
            const calls = [
              client.getHostname(),
              client.domainGetState({
                name: 't',
                uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f',
                id: 1,
              }),
            ].map((p) =>
              p.then(
                (v) => ({ ok: true as const, v }),
                (e: unknown) => ({ ok: false as const, e }),
              ),
            );
            const events = (async () => {
              let n = 0;
              for await (const e of sub) n += e.event === 'gap' ? 0 : 1;
              return n;
            })();
            await peer.waitForCalls(Proc.DOMAIN_GET_STATE);
            assert.deepEqual(
              peer.calls.slice(-2).map((c) => c.serial),
              [HOSTNAME_SERIAL, STATE_SERIAL],
            );
            for (const chunk of chunked(bytes, cuts)) {
              peer.write(chunk);
              await sleep(0);
            }
            if (destroy) peer.destroy();
            else peer.end();

            const deadline = sleep(1_000, undefined, { ref: false }).then(() => 'hang' as const);
            const closed = await Promise.race([client.closed, deadline]);
            if (closed === 'hang') assert.fail('the connection did not close after EOF');
            assert.ok(['eof', 'protocol', 'error'].includes(closed.reason), closed.reason);
            if (closed.reason === 'protocol')
              assert.ok(closed.error instanceof LibvirtProtocolError);
            count(`closed:${closed.reason}`);

            const settled = await Promise.race([Promise.all(calls), deadline]);
            if (settled === 'hang') assert.fail('a call never settled');
            for (const s of settled) {
              if (s.ok) count('call:resolved');
              else {
                assert.ok(s.e instanceof LibvirtError, `call failed with ${String(s.e)}`);
                count(`call:${s.e.name}`);
              }
            }
            const n = await Promise.race([events, deadline]);
            if (n === 'hang') assert.fail('the event subscription never ended');
            maxArrayBuffers = Math.max(maxArrayBuffers, process.memoryUsage().arrayBuffers);
          }),
          {
            numRuns: RUNS / 2,
            plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
            includeErrorInReport: true,
          },
        );
      });

      assert.ok(
        maxArrayBuffers - baseline < 16 * 1024 * 1024,
        `arrayBuffers grew by ${maxArrayBuffers - baseline} bytes`,
      );
      // The fuzz must reach every kind of outcome, or it is not testing much.
      for (const k of ['closed:eof', 'closed:protocol', 'call:LibvirtClosedError']) {
        assert.ok((outcomes.get(k) ?? 0) > 0, `never saw ${k}: ${JSON.stringify([...outcomes])}`);
      }
      t.diagnostic(JSON.stringify(Object.fromEntries(outcomes)));
    },
  );

  it(
    'does not allocate what a hostile length word announces',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const fake = await FakeLibvirtd.start(t);
      const client = await LibvirtClient.connect({
        socketPath: fake.socketPath,
        uri: 'test:///default',
        keepaliveIntervalMs: 0,
      });
      t.after(() => {
        client.connection.destroy();
      });
      const peer = await fake.nextPeer();
      const before = process.memoryUsage().arrayBuffers;
      // Largest legal length word, then a trickle: only what arrives is held.
      peer.write(cat(u32(MAX_FRAME_BYTES), u32(0x20008086), u32(1)));
      for (let i = 0; i < 20; i++) {
        peer.write(Buffer.alloc(100));
        await sleep(1);
      }
      await sleep(20);
      assert.equal(client.isClosed, false);
      assert.ok(process.memoryUsage().arrayBuffers - before < 4 * 1024 * 1024);
      peer.end();
      assert.equal((await client.closed).reason, 'eof');
    },
  );
});
