/** Request validation, generated names and retention: pure functions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateRequest } from '../../../agent/actions/index.ts';
import type { ActionLogger, ActionRequest } from '../../../agent/actions/index.ts';
import { pino } from 'pino';
import { isOwnName, timestampName, uniqueName } from '../../../agent/actions/names.ts';
import { selectForPruning } from '../../../agent/actions/retention.ts';

const base: ActionRequest = {
  kind: 'snapshot.create',
  domain: { uuid: 'AAAAAAAA-2222-3333-4444-555555555555', name: 'web-1' },
  idempotencyKey: 'policy:snap:1',
  origin: 'policy',
  reason: 'periodic snapshot',
};

function check(r: Partial<ActionRequest> & Record<string, unknown>) {
  return validateRequest({ ...base, ...r });
}

describe('validateRequest', () => {
  it('normalizes the UUID and keeps only the parameters that apply', () => {
    const v = check({
      kind: 'snapshot.revert',
      params: { name: 'vft-1', gracefulTimeoutMs: 5, memory: true },
    });
    assert.ok(v.ok);
    assert.equal(v.request.uuid, 'aaaaaaaa-2222-3333-4444-555555555555');
    assert.deepEqual(v.request.params, { name: 'vft-1' });
    assert.equal(v.request.ifBusy, 'wait');
    assert.equal(v.request.deadlineMs, null);
  });

  it('still checks a parameter that does not apply', () => {
    const v = check({ kind: 'domain.start', params: { name: '../x' } });
    assert.equal(v.ok, false);
  });

  it('fingerprints kind, domain and parameters; protect is a set', () => {
    const fp = (r: Partial<ActionRequest>) => {
      const v = check(r);
      assert.ok(v.ok);
      return v.request.fingerprint;
    };
    const a = fp({ params: { retain: 3, protect: ['vft-a', 'vft-b'] } });
    assert.equal(a, fp({ params: { protect: ['vft-b', 'vft-a', 'vft-a'], retain: 3 } }));
    assert.equal(
      a,
      fp({
        params: { retain: 3, protect: ['vft-a', 'vft-b'] },
        origin: 'admin',
        reason: 'x',
        domain: { uuid: base.domain.uuid.toLowerCase() },
      }),
    );
    assert.notEqual(a, fp({ params: { retain: 4, protect: ['vft-a', 'vft-b'] } }));
    assert.notEqual(
      a,
      fp({ kind: 'checkpoint.create', params: { retain: 3, protect: ['vft-a', 'vft-b'] } }),
    );
  });

  it('rejects, with a message naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ kind: 'domain.reboot' }, /^kind must be one of/],
      [{ domain: { uuid: '1234' } }, /^domain.uuid/],
      [{ domain: { uuid: base.domain.uuid, id: 3 } }, /^domain has an unknown key "id"/],
      [{ domain: { uuid: base.domain.uuid, name: 'a\nb' } }, /^domain.name contains a control/],
      [{ idempotencyKey: '' }, /^idempotencyKey/],
      [{ idempotencyKey: 'has space' }, /^idempotencyKey/],
      [{ idempotencyKey: 'k'.repeat(201) }, /^idempotencyKey/],
      [{ origin: 'root' }, /^origin/],
      [{ reason: '  ' }, /^reason must not be empty/],
      [{ reason: 'r'.repeat(1025) }, /^reason must be at most 1024 characters, got 1025/],
      [{ ifBusy: 'later' }, /^ifBusy/],
      [{ deadlineMs: 0 }, /^deadlineMs/],
      [{ deadlineMs: 2 ** 31 }, /^deadlineMs/],
      [{ deadlineMs: 1.5 }, /^deadlineMs/],
      [{ params: { extra: 1 } }, /^params has an unknown key "extra"/],
      [{ params: { memory: 'yes' } }, /^params.memory must be a boolean/],
      [{ params: { retain: 0 } }, /^params.retain must be an integer from 1/],
      [{ params: { protect: 'vft-a' } }, /^params.protect must be an array/],
      [{ params: { protect: ['ok', '-bad'] } }, /^params.protect\[1\]/],
      [{ kind: 'domain.restart', params: { gracefulTimeoutMs: -1 } }, /^params.gracefulTimeoutMs/],
      [{ kind: 'snapshot.revert', params: {} }, /needs params.name/],
      [{ kind: 'checkpoint.delete', params: {} }, /needs params.name, or params.retain/],
      [{ params: { description: 'a\u0000b' } }, /U\+0000 at index 1/],
      [{ __proto__: { kind: 'x' }, extra: true }, /unknown key "extra"/],
    ];
    for (const [r, re] of cases) {
      const v = check(r);
      assert.equal(v.ok, false, JSON.stringify(r));
      assert.match(v.ok ? '' : v.message, re);
    }
    for (const bad of [null, undefined, 42, 'x', [], new Date()])
      assert.equal(validateRequest(bad).ok, false);
  });

  it('shows at most 40 characters of a hostile value', () => {
    const v = check({ params: { name: 'x'.repeat(10_000) } });
    assert.ok(!v.ok && v.message.length < 200, v.ok ? '' : v.message);
  });

  it('delete with retain 0 prunes every own one; create needs at least 1', () => {
    assert.ok(check({ kind: 'snapshot.delete', params: { retain: 0 } }).ok);
    assert.equal(check({ kind: 'snapshot.create', params: { retain: 0 } }).ok, false);
  });
});

describe('names and retention', () => {
  it('generates vft-YYYYMMDDTHHMMSSZ names, unique within a second', () => {
    const t = Date.parse('2026-11-29T19:30:07.603Z');
    assert.equal(timestampName(t), 'vft-20261129T193007Z');
    const taken = new Set<string>();
    for (let i = 0; i < 12; i++) taken.add(uniqueName(t, taken));
    assert.equal(taken.size, 12);
    assert.ok(taken.has('vft-20261129T193007Z-12'));
    assert.ok(isOwnName('vft-x') && !isOwnName('VFT-x') && !isOwnName('backup-vft'));
  });

  it('prunes the oldest own ones, never protected, kept or foreign, with numeric suffix order', () => {
    const items = [
      { name: 'vft-b', creationTime: 20 },
      { name: 'admin', creationTime: 1 },
      { name: 'vft-a', creationTime: 10 },
      { name: 'vft-c-10', creationTime: 30 },
      { name: 'vft-c-2', creationTime: 30 },
      { name: 'vft-d', creationTime: 40 },
    ];
    assert.deepEqual(selectForPruning(items, 3, new Set()), ['vft-a', 'vft-b']);
    assert.deepEqual(selectForPruning(items, 3, new Set(['vft-a'])), ['vft-b', 'vft-c-2']);
    // The kept one counts towards retain: everything else goes.
    assert.deepEqual(selectForPruning(items, 1, new Set(), 'vft-a'), [
      'vft-b',
      'vft-c-2',
      'vft-c-10',
      'vft-d',
    ]);
    assert.deepEqual(
      selectForPruning(items, 0, new Set(['vft-a', 'vft-b', 'vft-c-2', 'vft-c-10', 'vft-d'])),
      [],
    );
    assert.deepEqual(selectForPruning(items, 10, new Set()), []);
  });
});

describe('ActionLogger', () => {
  it('a pino logger is one (checked by the compiler)', () => {
    const log: ActionLogger = pino({ level: 'silent' });
    log.child({ component: 'actions' }).info({ a: 1 }, 'ok');
  });
});
