import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Failure } from '../../../agent/policy/detect.ts';
import { decide, restartBackoffMs } from '../../../agent/policy/engine.ts';
import { newRecord } from '../../../agent/policy/records.ts';
import { resolvePolicy } from '../../../agent/policy/schema.ts';

const NOW = 1_800_000_000_000;
const noHost = { incident: false, nextRestartSlot: null };
const half = () => 0.5; // no jitter
const failure = (kind: Failure['kind'] = 'qemu-died', late = false): Failure => ({
  kind,
  uuid: 'u1',
  name: 'vm1',
  at: NOW,
  late,
  signal: 'lifecycle Shutoff/Failed',
});

describe('policy engine: the recovery ladder', () => {
  const low = resolvePolicy({ level: 'low' });
  const high = resolvePolicy({ level: 'high' });

  it('restarts at once on the first failure, with the signal and the count as reasons', () => {
    const d = decide(newRecord('u1', 'vm1'), failure(), low, NOW, noHost, half);
    assert.equal(d.action, 'restart');
    assert.equal(d.delayMs, 0);
    assert.equal(d.rule, 'restart');
    assert.equal(d.reasons[0], 'signal: lifecycle Shutoff/Failed');
    assert.match(d.reasons[1] ?? '', /0 of 3 allowed/);
  });

  it('backs off exponentially on later restarts within the window', () => {
    const r = newRecord('u1', 'vm1');
    r.restarts = [NOW - 50_000];
    const d1 = decide(r, failure(), low, NOW, noHost, half);
    assert.equal(d1.rule, 'restart-backoff');
    assert.equal(d1.delayMs, 10_000);
    r.restarts.push(NOW - 10_000);
    const d2 = decide(r, failure(), low, NOW, noHost, half);
    assert.equal(d2.delayMs, 30_000);
    assert.match(d2.reasons.join(' '), /backoff 30000 ms/);
  });

  it('forgets restarts older than the window', () => {
    const r = newRecord('u1', 'vm1');
    r.restarts = [NOW - 700_000, NOW - 650_000, NOW - 601_000];
    assert.equal(decide(r, failure(), low, NOW, noHost, half).rule, 'restart');
  });

  it('quarantines a low-level crash loop once restarts are exhausted', () => {
    const r = newRecord('u1', 'vm1');
    r.restarts = [NOW - 3000, NOW - 2000, NOW - 1000];
    const d = decide(r, failure(), low, NOW, noHost, half);
    assert.equal(d.action, 'quarantine');
    assert.equal(d.rule, 'crash-loop');
    assert.match(d.reasons.at(-1) ?? '', /restarts exhausted/);
  });

  it('reverts a high-level crash loop to the newest known-good snapshot, once', () => {
    const r = newRecord('u1', 'vm1');
    r.restarts = [NOW - 3000, NOW - 2000, NOW - 1000];
    r.snapshots = [
      { name: 'old', takenAt: NOW - 9e6, knownGoodAt: NOW - 8e6, measure: null },
      { name: 'good', takenAt: NOW - 5e6, knownGoodAt: NOW - 4e6, measure: null },
      { name: 'untested', takenAt: NOW - 1e5, knownGoodAt: null, measure: null },
    ];
    const d = decide(r, failure(), high, NOW, noHost, half);
    assert.equal(d.action, 'revert');
    assert.equal(d.snapshot, 'good');
    r.revertedAt = NOW - 500;
    const again = decide(r, failure(), high, NOW, noHost, half);
    assert.equal(again.action, 'quarantine');
    assert.match(again.reasons.at(-1) ?? '', /failed again after the revert/);
  });

  it('quarantines a high-level loop with no known-good snapshot, saying so', () => {
    const r = newRecord('u1', 'vm1');
    r.restarts = [NOW - 3000, NOW - 2000, NOW - 1000];
    const d = decide(r, failure(), high, NOW, noHost, half);
    assert.equal(d.action, 'quarantine');
    assert.match(d.reasons.at(-1) ?? '', /no known-good snapshot/);
  });

  it('does nothing for level off or a quarantined VM', () => {
    assert.equal(
      decide(newRecord('u1', 'vm1'), failure(), resolvePolicy({ level: 'off' }), NOW, noHost, half)
        .rule,
      'level-off',
    );
    const q = newRecord('u1', 'vm1');
    q.quarantine = { at: NOW - 1, reason: 'loop' };
    assert.equal(decide(q, failure(), low, NOW, noHost, half).rule, 'quarantined');
  });

  it('throttles restarts host-wide during a host incident', () => {
    const d = decide(
      newRecord('u1', 'vm1'),
      failure(),
      low,
      NOW,
      { incident: true, nextRestartSlot: NOW + 12_000 },
      half,
    );
    assert.equal(d.action, 'restart');
    assert.equal(d.delayMs, 12_000);
    assert.match(d.reasons.at(-1) ?? '', /host incident/);
  });

  it('follows the ioError policy for a VM paused on an I/O error', () => {
    const io = (action: 'resume' | 'leave-paused' | 'kill') =>
      resolvePolicy({ ioError: { action } });
    assert.equal(
      decide(newRecord('u1', 'vm1'), failure('io-error'), io('leave-paused'), NOW, noHost).action,
      'leave-paused',
    );
    const kill = decide(newRecord('u1', 'vm1'), failure('io-error'), io('kill'), NOW, noHost);
    assert.equal(kill.action, 'kill');
    assert.equal(kill.delayMs, 80_000);
    const r = newRecord('u1', 'vm1');
    r.failures = [1, 2, 3, 4].map((i) => ({
      at: NOW - i * 1000,
      kind: 'io-error' as const,
      signal: 's',
    }));
    assert.equal(decide(r, failure('io-error'), io('resume'), NOW, noHost).action, 'leave-paused');
    r.failures = r.failures.slice(0, 2);
    assert.equal(decide(r, failure('io-error'), io('resume'), NOW, noHost).action, 'resume');
  });

  it('marks a late failure as seen after a gap', () => {
    const d = decide(newRecord('u1', 'vm1'), failure('qemu-died', true), low, NOW, noHost, half);
    assert.match(d.reasons[0] ?? '', /seen late, after a gap/);
  });

  it('jitters the backoff within ± the configured fraction and caps it', () => {
    assert.equal(
      restartBackoffMs(low, 0, () => 0),
      8_000,
    );
    assert.equal(
      restartBackoffMs(low, 0, () => 1),
      12_000,
    );
    assert.equal(restartBackoffMs(low, 20, half), 300_000);
  });
});
