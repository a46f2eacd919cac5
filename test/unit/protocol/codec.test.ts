import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bigintReplacer,
  depthViolation,
  encodeMessage,
  parseClientMessage,
  parseServerMessage,
} from '../../../shared/protocol/index.ts';
import { CLIENT } from './examples.ts';

function fails(text: string, code: string, closeCode: number | null): string {
  const r = parseClientMessage(text);
  assert.ok(!r.ok, `accepted: ${text.slice(0, 120)}`);
  assert.equal(r.error.code, code, r.error.message);
  assert.equal(r.error.closeCode, closeCode);
  return r.error.message;
}

const nested = (n: number, inner = '1'): string => `${'['.repeat(n)}${inner}${']'.repeat(n)}`;

describe('protocol codec: hostile input', () => {
  it('refuses text over the size limit before parsing it', () => {
    const msg = fails(
      JSON.stringify({ v: 1, type: 'ping', pad: 'x'.repeat(70_000) }),
      'VFT_ERR_STREAM_TOO_LARGE',
      1009,
    );
    assert.match(msg, /at most 65536 bytes/);
    // Multi-byte characters count as bytes, not UTF-16 units.
    fails(
      JSON.stringify({ v: 1, type: 'ping', pad: '€'.repeat(22_000) }),
      'VFT_ERR_STREAM_TOO_LARGE',
      1009,
    );
    assert.ok(!parseServerMessage('{"v":1}', { maxBytes: 3 }).ok);
  });

  it('allows depth 8 and refuses 9, counting only brackets outside strings', () => {
    const at = (d: number) =>
      `{"v":1,"type":"command","id":"c","key":"k","action":"policy.set","domain":{"uuid":"11111111-1111-4111-8111-111111111111"},"params":{"policy":{"a":${nested(d - 4, '{}')}}}}`;
    // message(1) params(2) policy(3) a-array... : depth of the innermost {} is d
    assert.equal(depthViolation(at(8), 8), -1);
    assert.notEqual(depthViolation(at(9), 8), -1);
    fails(at(9), 'VFT_ERR_STREAM_TOO_DEEP', 1008);
    assert.equal(depthViolation(`{"s":"${'['.repeat(100)}\\"${'{'.repeat(50)}"}`, 8), -1);
    assert.equal(depthViolation('{"s":"\\\\"}', 1), -1);
  });

  it('refuses a 10 KiB array nested 5,000 deep with one clear error and no RangeError', () => {
    const msg = fails(nested(5000), 'VFT_ERR_STREAM_TOO_DEEP', 1008);
    assert.match(msg, /at most 8 deep, exceeded at character 8/);
    fails(
      `{"v":1,"type":"ping","x":${nested(100_000)}}`.slice(0, 65_000),
      'VFT_ERR_STREAM_TOO_DEEP',
      1008,
    );
  });

  it('refuses bad JSON with 1007', () => {
    for (const t of ['', '{', '{"v":1,}', "{'v':1}", 'NaN', '{"v":1}x', '\u0000'])
      fails(t, 'VFT_ERR_STREAM_BAD_JSON', 1007);
  });

  it('refuses __proto__, constructor and prototype keys anywhere, even escaped', () => {
    for (const t of [
      '{"__proto__":{"isAdmin":true},"v":1,"type":"ping"}',
      '{"v":1,"type":"ping","a":[{"b":{"constructor":1}}]}',
      '{"v":1,"type":"ping","prototype":1}',
      '{"v":1,"type":"ping","\\u005F\\u005Fproto\\u005F\\u005F":{"isAdmin":true}}',
    ])
      assert.match(fails(t, 'VFT_ERR_STREAM_FORBIDDEN_KEY', 1008), /is not allowed/);
    assert.equal(({} as Record<string, unknown>)['isAdmin'], undefined);
    // As values they are fine: only keys are dangerous.
    assert.ok(parseClientMessage('{"v":1,"type":"ping","id":"constructor"}').ok);
  });

  it('refuses a non-object with 1008 and a wrong version with 1002, keeping the id for the answer', () => {
    fails('[1,2]', 'VFT_ERR_STREAM_BAD_MESSAGE', 1008);
    fails('"ping"', 'VFT_ERR_STREAM_BAD_MESSAGE', 1008);
    fails('null', 'VFT_ERR_STREAM_BAD_MESSAGE', 1008);
    const r = parseClientMessage('{"v":2,"type":"ping","id":"p9"}');
    assert.ok(
      !r.ok &&
        r.error.code === 'VFT_ERR_STREAM_VERSION' &&
        r.error.closeCode === 1002 &&
        r.error.ref === 'p9',
    );
    const s = parseClientMessage('{"v":1,"type":"ping","id":"p8","x":1}');
    assert.ok(!s.ok && s.error.closeCode === null && s.error.ref === 'p8');
    const u = parseClientMessage(`{"v":1,"type":"ping","id":"${'z'.repeat(200)}","x":1}`);
    assert.ok(!u.ok && u.error.ref === null, 'an unreadable id is not echoed');
  });

  it('never throws, whatever the input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.json({ maxDepth: 12 }),
          fc.jsonValue({ maxDepth: 10 }).map((v) => JSON.stringify(v) ?? 'null'),
        ),
        (text) => {
          const r = parseClientMessage(text);
          assert.equal(typeof r.ok, 'boolean');
          if (!r.ok) assert.match(r.error.code, /^VFT_ERR_STREAM_/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips every example, and encodes bigints as numbers when exact, else strings', () => {
    for (const m of Object.values(CLIENT))
      assert.deepEqual((parseClientMessage(encodeMessage(m)) as { message: unknown }).message, m);
    assert.equal(
      JSON.stringify({ a: 5n, b: 2n ** 64n }, bigintReplacer),
      '{"a":5,"b":"18446744073709551616"}',
    );
  });
});
