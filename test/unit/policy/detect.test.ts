import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyTransition } from '../../../agent/policy/detect.ts';
import { resolvePolicy } from '../../../agent/policy/schema.ts';
import type { Transition } from '../../../agent/tracker/domain-tracker.ts';

const t = (state: string, reason: string, late = false): Transition => ({
  uuid: 'u',
  name: 'vm',
  from: { state: 'Running', reason: 'Booted' },
  to: { state, reason },
  at: 1,
  late,
  source: late ? 'resync' : 'event',
});

describe('failure detection', () => {
  const onFailure = resolvePolicy({});
  const always = resolvePolicy({ restart: { strategy: 'always' } });
  const kind = (tr: Transition, p = onFailure, own = false) =>
    classifyTransition(tr, p, own)?.kind ?? null;

  it('QEMU dying is a failure', () => {
    assert.equal(kind(t('Shutoff', 'Failed')), 'qemu-died');
  });
  it('a guest panic is a failure', () => {
    assert.equal(kind(t('Crashed', 'Panicked')), 'guest-crash');
  });
  it('on_crash=destroy (Stopped/Crashed) is a failure', () => {
    assert.equal(kind(t('Shutoff', 'Crashed')), 'guest-crash');
  });
  it('a late Shutoff/Crashed (GET_STATE after a QEMU kill) is a failure', () => {
    assert.equal(kind(t('Shutoff', 'Crashed', true)), 'qemu-died');
  });
  it('a paused-on-I/O-error VM is an io-error', () => {
    assert.equal(kind(t('Paused', 'IOError')), 'io-error');
  });
  it('a watchdog pause is a failure unless disabled', () => {
    assert.equal(kind(t('Paused', 'Watchdog')), 'watchdog');
    assert.equal(kind(t('Paused', 'Watchdog'), resolvePolicy({ watchdogIsFailure: false })), null);
  });
  it("a guest's own shutdown and an admin's destroy are not failures under on-failure", () => {
    assert.equal(kind(t('Shutoff', 'Shutdown')), null);
    assert.equal(kind(t('Shutoff', 'Destroyed')), null);
  });
  it('they are failures when the VM must always run', () => {
    assert.equal(kind(t('Shutoff', 'Shutdown'), always), 'guest-shutdown');
    assert.equal(kind(t('Shutoff', 'Destroyed'), always), 'admin-destroy');
  });
  it("virt-ft's own destroy is never a failure, but a crash during its action is", () => {
    assert.equal(kind(t('Shutoff', 'Destroyed'), always, true), null);
    assert.equal(kind(t('Shutoff', 'Failed'), always, true), 'qemu-died');
  });
  it('a user pause, a resume, a save and an undefine are not failures', () => {
    assert.equal(kind(t('Paused', 'Paused')), null);
    assert.equal(kind(t('Running', 'Unpaused')), null);
    assert.equal(kind(t('Shutoff', 'Saved'), always), null);
    assert.equal(classifyTransition({ ...t('Shutoff', 'x'), to: null }, onFailure, false), null);
  });
});
