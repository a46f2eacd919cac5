import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { parseJson, stringifyJson } from '../../../agent/health/lossless-json.ts';

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 exact as bigint', () => {
    const v = parseJson('{"a": 340282366920938463463374607431768211455, "b": 9007199254740993}');
    assert.deepEqual(
      { ...(v as object) },
      { a: 340282366920938463463374607431768211455n, b: 9007199254740993n },
    );
    assert.equal(JSON.parse('9007199254740993'), 9007199254740992, 'JSON.parse would have rounded');
  });

  it('gives what JSON.parse gives for everything else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const mine = parseJson(text);
        const theirs = JSON.parse(text) as unknown;
        assert.equal(stringifyJson(mine), JSON.stringify(theirs));
      }),
      { numRuns: 500 },
    );
  });

  it('writes bigint back as digits and round-trips', () => {
    const text = stringifyJson({ x: 18446744073709551616n, y: [1, 'z', null, true] }, 2);
    assert.equal(
      text,
      '{\n  "x": 18446744073709551616,\n  "y": [\n    1,\n    "z",\n    null,\n    true\n  ]\n}',
    );
    const back = parseJson(text) as { x: unknown; y: unknown };
    assert.equal(back.x, 18446744073709551616n);
    assert.deepEqual(back.y, [1, 'z', null, true]);
  });

  it('keeps a key named __proto__ as data', () => {
    const v = parseJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  for (const bad of ['', '{', '[1,]', '{"a" 1}', '01', '"\u0001"', 'tru', '1 2', '"\\x"', 'NaN']) {
    it(`rejects ${JSON.stringify(bad)} with an offset`, () => {
      assert.throws(() => parseJson(bad), /Invalid JSON at offset \d+/);
    });
  }

  it('limits nesting depth', () => {
    assert.throws(() => parseJson('['.repeat(200) + ']'.repeat(200)), /nesting deeper than 128/);
  });
});
