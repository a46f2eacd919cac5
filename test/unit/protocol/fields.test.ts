import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NAME_RE as EXECUTOR_NAME_RE } from '../../../agent/actions/names.ts';
import { KEY_RE as EXECUTOR_KEY_RE, validateRequest } from '../../../agent/actions/validate.ts';
import { KEY_PREFIX } from '../../../agent/stream/execute.ts';
import { KEY_RE, NAME_RE, text } from '../../../shared/protocol/index.ts';

const UUID = '11111111-1111-4111-8111-111111111111';

describe('protocol fields agree with the action executor', () => {
  it('uses the executor name allowlist', () => {
    assert.equal(NAME_RE.source, EXECUTOR_NAME_RE.source);
  });

  it('accepts only keys the executor accepts once prefixed for the stream', () => {
    const longest = 'k'.repeat(128);
    assert.ok(KEY_RE.test(longest) && EXECUTOR_KEY_RE.test(KEY_PREFIX + longest));
    fc.assert(
      fc.property(
        fc.string({ maxLength: 140 }),
        (k) => !KEY_RE.test(k) || EXECUTOR_KEY_RE.test(KEY_PREFIX + k),
      ),
    );
  });

  it('accepts only descriptions the executor accepts (property)', () => {
    const schema = text();
    const chars = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('\t', '\n', '\u0085', '\ud800', '\ufffe', '😀'),
    );
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 60 }).map((a) => a.join('')),
        (d) => {
          if (!schema.safeParse(d).success) return;
          const v = validateRequest({
            kind: 'snapshot.create',
            domain: { uuid: UUID },
            idempotencyKey: 'k',
            origin: 'admin',
            reason: 'r',
            params: { description: d },
          });
          assert.ok(
            v.ok,
            `the protocol accepted what the executor refuses: ${JSON.stringify(d)} (${v.ok ? '' : v.message})`,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});
