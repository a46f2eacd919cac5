import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DomainEvent } from '../../../agent/libvirt/index.ts';
import { DomainTracker } from '../../../agent/tracker/domain-tracker.ts';

const dom = (n: number) => ({
  name: `vm${n}`,
  uuid: `00000000-0000-0000-0000-00000000000${n}`,
  id: n,
});
const lifecycle = (n: number, type: string, detail: string): DomainEvent => ({
  event: 'lifecycle',
  callbackId: 1,
  domain: dom(n),
  time: new Date(0),
  type,
  detail,
  typeCode: 0,
  detailCode: 0,
});

describe('domain tracker', () => {
  it('turns lifecycle events into state transitions, once each', () => {
    const t = new DomainTracker(() => 5);
    t.resync([{ domain: dom(1), state: 'Running', reason: 'Booted' }], true);
    const a = t.applyEvent(lifecycle(1, 'Crashed', 'Panicked'));
    assert.deepEqual(a?.from, { state: 'Running', reason: 'Booted' });
    assert.deepEqual(a?.to, { state: 'Crashed', reason: 'Panicked' });
    assert.equal(a?.late, false);
    assert.equal(
      t.applyEvent(lifecycle(1, 'Crashed', 'Panicked')),
      null,
      'a repeat is not a new transition',
    );
    assert.equal(
      t.applyEvent(lifecycle(1, 'Shutdown', 'Finished')),
      null,
      'SHUTDOWN is informational',
    );
    assert.equal(t.applyEvent(lifecycle(1, 'Stopped', 'Destroyed'))?.to?.state, 'Shutoff');
  });

  it('reports a change that happened during a gap exactly once, marked late', () => {
    const t = new DomainTracker();
    t.resync(
      [
        { domain: dom(1), state: 'Running', reason: 'Booted' },
        { domain: dom(2), state: 'Running', reason: 'Booted' },
      ],
      true,
    );
    t.markUnknown(null, 'libvirt connection lost');
    assert.equal(t.get(dom(1).uuid)?.state, 'unknown');
    const after = t.resync(
      [
        { domain: dom(1), state: 'Running', reason: 'Booted' },
        { domain: dom(2), state: 'Shutoff', reason: 'Crashed' },
        { domain: dom(3), state: 'Running', reason: 'Booted' },
      ],
      false,
    );
    assert.deepEqual(
      after.map((x) => [x.name, x.from?.state ?? null, x.to?.state ?? null, x.late]),
      [
        ['vm2', 'Running', 'Shutoff', true],
        ['vm3', null, 'Running', true],
      ],
    );
    assert.equal(t.get(dom(1).uuid)?.state, 'Running', 'unknown cleared without a transition');
    assert.deepEqual(
      t
        .resync([{ domain: dom(2), state: 'Shutoff', reason: 'Crashed' }], false)
        .map((x) => [x.name, x.to]),
      [
        ['vm1', null],
        ['vm3', null],
      ],
    );
  });

  it('the first listing records without reporting; a seeded one reports what changed while the agent was down', () => {
    const t = new DomainTracker();
    assert.deepEqual(t.resync([{ domain: dom(1), state: 'Shutoff', reason: 'Crashed' }], true), []);
    const s = new DomainTracker();
    s.seed([{ uuid: dom(1).uuid, name: 'vm1', state: 'Running', reason: 'Booted', since: 0 }]);
    const tr = s.resync([{ domain: dom(1), state: 'Shutoff', reason: 'Crashed' }], false);
    assert.equal(tr.length, 1);
    assert.equal(tr[0]?.late, true);
  });

  it('a reason-only change is silent while running, but not while paused (User → IOError matters)', () => {
    const t = new DomainTracker();
    t.resync([{ domain: dom(5), state: 'Running', reason: 'Unpaused' }], true);
    assert.equal(t.applyEvent(lifecycle(5, 'Started', 'Booted')), null);
    assert.equal(t.get(dom(5).uuid)?.reason, 'Booted');
    assert.equal(t.applyEvent(lifecycle(5, 'Suspended', 'Paused'))?.to?.reason, 'Paused');
    assert.equal(t.applyEvent(lifecycle(5, 'Suspended', 'IOError'))?.to?.reason, 'IOError');
  });

  it('an undefined domain is forgotten', () => {
    const t = new DomainTracker();
    t.applyEvent(lifecycle(4, 'Defined', 'Added'));
    assert.equal(t.get(dom(4).uuid)?.state, 'Shutoff');
    const gone = t.applyEvent(lifecycle(4, 'Undefined', 'Removed'));
    assert.equal(gone?.to, null);
    assert.equal(t.size, 0);
  });
});
