/** Messages for the coordinator's unit tests: the fake agent's status on the wire, domain events. */
import { AgentStatusSchema } from '../../../shared/protocol/index.ts';
import type { EventMessage, WireStatus } from '../../../shared/protocol/index.ts';
import { FakeAgent, UUID_A } from '../stream/fake-agent.ts';

/** The fake agent's status as it travels on the wire. */
export function wireStatus(agent = new FakeAgent()): WireStatus {
  return AgentStatusSchema.parse(JSON.parse(JSON.stringify(agent.status())));
}

/** A domain event with `seq`, at `atMs`. */
export function domainEvent(
  seq: number,
  uuid = UUID_A,
  name = 'web-1',
  atMs = Date.now(),
): Extract<EventMessage, { kind: 'domain' }> {
  return {
    v: 1,
    type: 'event',
    seq,
    at: new Date(atMs).toISOString(),
    kind: 'domain',
    uuid,
    name,
    from: { state: 'Running', reason: 'Booted' },
    to: { state: 'Crashed', reason: 'Panicked' },
    late: false,
    source: 'event',
  };
}
