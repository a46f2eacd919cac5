/** Row helpers both stores share: an event's indexed columns, and the query filter in code. */
import type { EventMessage } from '../../shared/protocol/index.ts';
import type { EventQuery, StoredEvent } from './types.ts';

/** The domain an event is about (domain and decision events), else nulls. */
export function eventDomain(e: EventMessage): { uuid: string | null; name: string | null } {
  if (e.kind === 'domain') return { uuid: e.uuid.toLowerCase(), name: e.name };
  if (e.kind === 'decision') return { uuid: e.domain.uuid.toLowerCase(), name: e.domain.name };
  return { uuid: null, name: null };
}

/** The columns of one event row, and the stored event it becomes (without its id). */
export function eventRow(host: string, epoch: string, e: EventMessage, nowMs: number) {
  const { uuid, name } = eventDomain(e);
  const atMs = Date.parse(e.at);
  return {
    host,
    epoch,
    seq: e.seq,
    at: e.at,
    atMs: Number.isFinite(atMs) ? atMs : nowMs,
    receivedMs: nowMs,
    kind: e.kind,
    uuid,
    name,
    body: JSON.stringify(e),
    stored: {
      host,
      epoch,
      seq: e.seq,
      at: e.at,
      receivedMs: nowMs,
      kind: e.kind,
      uuid,
      name,
      event: e,
    },
  };
}

/** True when `e` passes the filters of `q` (ids and limit aside). */
export function matches(e: StoredEvent, q: EventQuery): boolean {
  if (q.host !== undefined && e.host !== q.host) return false;
  if (q.vm !== undefined && e.uuid !== q.vm.toLowerCase() && e.name !== q.vm) return false;
  if (q.kind !== undefined && e.kind !== q.kind) return false;
  const at = Date.parse(e.at);
  if (q.sinceMs !== undefined && at < q.sinceMs) return false;
  if (q.untilMs !== undefined && at >= q.untilMs) return false;
  return true;
}
