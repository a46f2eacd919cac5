import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  derivedMeasures,
  latestKnownGood,
  newRecord,
  promoteKnownGood,
} from '../../../agent/policy/records.ts';

describe('per-VM records and measures', () => {
  it('availability, R = T_down / T_run and MTTR', () => {
    const r = newRecord('u', 'vm');
    r.measures.runtimeMs = 9_000;
    r.measures.downtimeMs = 1_000;
    r.measures.recoveryMs = [400, 600];
    const m = derivedMeasures(r, 0);
    assert.equal(m.availability, 0.9);
    assert.equal(m.downtimeRatio, 1_000 / 9_000);
    assert.equal(m.mttrMs, 500);
  });

  it('counts time in progress: up since, down since', () => {
    const r = newRecord('u', 'vm');
    r.upSince = 1_000;
    assert.equal(derivedMeasures(r, 4_000).runtimeMs, 3_000);
    r.upSince = null;
    r.down = { since: 4_000, kind: 'qemu-died' };
    assert.equal(derivedMeasures(r, 5_000).downtimeMs, 1_000);
  });

  it('a snapshot becomes known-good only after the VM ran healthy long enough after it', () => {
    const r = newRecord('u', 'vm');
    r.upSince = 0;
    r.snapshots = [
      { name: 'a', takenAt: 1_000, knownGoodAt: null, measure: null },
      { name: 'b', takenAt: 5_000, knownGoodAt: null, measure: null },
    ];
    assert.deepEqual(promoteKnownGood(r, 10_000, 9_000), []);
    r.failures = [{ at: 9_000, kind: 'guest-crash', signal: 's' }];
    assert.deepEqual(
      promoteKnownGood(r, 10_000, 20_000),
      [],
      'both had a failure within 10 s after them',
    );
    r.failures = [];
    r.down = { since: 19_000, kind: 'qemu-died' };
    assert.deepEqual(promoteKnownGood(r, 10_000, 20_000), [], 'not while the VM is down');
    r.down = null;
    assert.deepEqual(promoteKnownGood(r, 10_000, 20_000), ['a', 'b']);
    assert.equal(latestKnownGood(r)?.name, 'b');
  });
});
