// A host's state at the coordinator: a snapshot, then events on top (states, failures,
// decisions, health, libvirt session), and policy levels merged from a side snapshot.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostState, statusOf } from '../../../coordinator/fleet/host-state.ts';
import type { EventMessage } from '../../../shared/protocol/index.ts';
import { UUID_A, UUID_B } from '../stream/fake-agent.ts';
import { domainEvent, wireStatus } from './fixtures.ts';

const NEW = '33333333-3333-4333-8333-333333333333';

function decision(
  seq: number,
  phase: 'decided' | 'finished',
  ok: boolean | null = null,
): EventMessage {
  return {
    v: 1,
    type: 'event',
    seq,
    at: new Date(1_000_000 + seq).toISOString(),
    kind: 'decision',
    phase,
    id: 'd1',
    domain: { uuid: UUID_A, name: 'web-1' },
    action: 'restart',
    rule: 'restart',
    delayMs: 0,
    reasons: [],
    snapshot: null,
    failure: {
      kind: 'guest-crash',
      signal: 'Crashed/Panicked',
      late: false,
      at: new Date(1_000_000).toISOString(),
    },
    shadow: false,
    outcome:
      ok === null ? null : { ok, at: new Date(1_000_100).toISOString(), message: 'restarted' },
  };
}

describe('host state', () => {
  it('maps libvirt states to statuses', () => {
    assert.equal(statusOf('Running', 'Booted'), 'running');
    assert.equal(statusOf('Shutoff', 'Crashed'), 'failed');
    assert.equal(statusOf('Shutoff', 'Destroyed'), 'stopped');
    assert.equal(statusOf('Crashed', 'Panicked'), 'failed');
    assert.equal(statusOf('Paused', 'User'), 'paused');
    assert.equal(statusOf('Weird', 'x'), 'unknown');
  });

  it('applies events on top of the snapshot: crash, recovery decision, a new VM, a VM gone', () => {
    const s = new HostState('h');
    s.applySnapshot('e1', 10, wireStatus());
    assert.deepEqual(s.counts(), { total: 2, running: 2 });
    s.applyEvent('e1', domainEvent(11));
    assert.equal(s.findVm('web-1')?.status, 'failed');
    assert.equal(s.findVm(UUID_A.toUpperCase())?.lastFailure?.signal, 'Crashed/Panicked');
    s.applyEvent('e1', decision(12, 'decided'));
    assert.equal(s.findVm('web-1')?.status, 'recovering');
    s.applyEvent('e1', { ...domainEvent(13), to: { state: 'Running', reason: 'Booted' } });
    s.applyEvent('e1', decision(14, 'finished', true));
    assert.equal(s.findVm('web-1')?.status, 'running');
    assert.equal(s.findVm('web-1')?.lastDecision?.ok, true);
    assert.equal(s.findVm('web-1')?.lastFailure?.kind, 'guest-crash');
    assert.equal(s.needsPolicy, false);
    s.applyEvent('e1', {
      ...domainEvent(15, NEW, 'new-1'),
      from: null,
      to: { state: 'Running', reason: 'Booted' },
    });
    assert.equal(s.findVm('new-1')?.policyLevel, null);
    assert.equal(s.needsPolicy, true);
    s.applyEvent('e1', { ...domainEvent(16, UUID_B, 'db-1'), to: null });
    assert.equal(s.findVm('db-1'), null);
    assert.equal(s.seq, 16);
    const side = wireStatus();
    side.domains.push({ ...side.domains[0]!, uuid: NEW, name: 'new-1', policy: { level: 'high' } });
    assert.equal(s.mergePolicies(side), 1);
    assert.equal(s.findVm('new-1')?.policyLevel, 'high');
    assert.equal(s.findVm('web-1')?.state, 'Running', 'a side snapshot does not change states');
    assert.equal(s.needsPolicy, false);
  });

  it('follows health and the libvirt session', () => {
    const s = new HostState('h');
    s.applyEvent('e1', {
      v: 1,
      type: 'event',
      seq: 1,
      at: new Date().toISOString(),
      kind: 'session',
      state: 'disconnected',
      reconnect: null,
      attempt: null,
      delayMs: null,
      reason: 'eof',
      message: 'gone',
    });
    assert.equal(s.libvirtConnected, false);
    s.applyEvent('e1', {
      v: 1,
      type: 'event',
      seq: 2,
      at: new Date().toISOString(),
      kind: 'health',
      risk: 'warning',
      diskFailureProbability: 0.1,
      memoryErrorRate: null,
      memory: { status: 'ok', risk: 'healthy' },
      disks: [],
      reasons: [],
    });
    assert.equal(s.risk, 'warning');
  });
});
