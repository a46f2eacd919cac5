/**
 * Turns what the agent reports (agent/agent.ts `AgentListener`) into protocol event bodies,
 * clipping agent-made strings to the protocol's bounds; and computes stats deltas between two
 * statuses. A health report becomes an event only when its summary changed.
 */
import type { HealthReport } from '../health/report.ts';
import type { DecisionRecord } from '../state/store.ts';
import type { AgentStatus } from '../status.ts';
import type { SessionItem } from '../supervisor/libvirt-session.ts';
import type { Transition } from '../tracker/domain-tracker.ts';
import { bigintReplacer } from '../../shared/protocol/index.ts';
import type { EventBody, StatsMessage } from '../../shared/protocol/index.ts';

type Body<K extends EventBody['kind']> = Extract<EventBody, { kind: K }>;

/** `s` cut to `max` UTF-16 units (never in the middle of a surrogate pair). */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const end = /[\ud800-\udbff]/.test(s.charAt(max - 1)) ? max - 1 : max;
  return s.slice(0, end);
}

const MSG = 4096;
const iso = (ms: number): string => new Date(ms).toISOString();

/** A domain transition. */
export function transitionBody(t: Transition): Body<'domain'> {
  const st = (x: { state: string; reason: string } | null) =>
    x && { state: clip(x.state, 64), reason: clip(x.reason, 128) };
  return {
    kind: 'domain',
    uuid: t.uuid,
    name: clip(t.name, 256),
    from: st(t.from),
    to: st(t.to),
    late: t.late,
    source: t.source,
  };
}

/** A decision, when recorded (`decided`) and again with its outcome (`finished`). */
export function decisionBody(d: DecisionRecord): Body<'decision'> {
  return {
    kind: 'decision',
    phase: d.outcome ? 'finished' : 'decided',
    id: clip(d.id, 128),
    domain: { uuid: d.domain.uuid, name: clip(d.domain.name, 256) },
    action: clip(d.action, 32),
    rule: clip(d.rule, 64),
    delayMs: Math.max(0, Math.min(2 ** 31 - 1, Math.round(d.delayMs))),
    reasons: d.reasons.slice(0, 32).map((r) => clip(r, MSG)),
    snapshot: d.snapshot === undefined ? null : clip(d.snapshot, 256),
    failure: d.failure && {
      kind: clip(d.failure.kind, 64),
      signal: clip(d.failure.signal, MSG),
      late: d.failure.late,
      at: iso(d.failure.at),
    },
    shadow: d.shadow,
    outcome: d.outcome
      ? { ok: d.outcome.ok, at: iso(d.outcome.at), message: clip(d.outcome.message, MSG) }
      : null,
  };
}

/** The libvirt session's state. */
export function sessionBody(s: Extract<SessionItem, { event: 'session' }>): Body<'session'> {
  const base = {
    kind: 'session',
    state: s.state,
    reconnect: null,
    attempt: null,
    delayMs: null,
    reason: null,
    message: null,
  } as const;
  switch (s.state) {
    case 'connected':
      return { ...base, reconnect: s.reconnect, attempt: s.attempt };
    case 'disconnected':
      return { ...base, reason: clip(s.reason, 64), message: clip(s.message, MSG) };
    case 'backoff':
      return {
        ...base,
        attempt: s.attempt,
        delayMs: Math.max(0, Math.min(2 ** 31 - 1, Math.round(s.delayMs))),
        message: clip(s.message, MSG),
      };
  }
}

/** The health summary the stream reports. */
export function healthBody(r: HealthReport, memoryErrorRate: number | null): Body<'health'> {
  const p = r.host.diskFailureProbability;
  return {
    kind: 'health',
    risk: r.host.risk,
    diskFailureProbability: p === null || !Number.isFinite(p) ? null : Math.min(1, Math.max(0, p)),
    memoryErrorRate:
      memoryErrorRate === null || !Number.isFinite(memoryErrorRate) ? null : memoryErrorRate,
    memory: { status: clip(r.memory.status, 32), risk: r.memory.risk },
    disks: r.disks.slice(0, 256).map((d) => ({
      key: clip(d.key, 256),
      device: clip(d.device, 256),
      model: d.model === null ? null : clip(d.model, 256),
      risk: d.risk,
    })),
    reasons: r.host.reasons.slice(0, 64).map((x) => ({
      code: clip(x.code, 64),
      level: clip(x.level, 32),
      message: clip(x.message, MSG),
    })),
  };
}

/** The worst DIMM's corrected errors per 24 h, as the status reports it. */
export function memoryErrorRate(r: HealthReport): number | null {
  const rates = r.memory.dimms.map((d) => d.ceRate24h).filter((x) => typeof x === 'number');
  return rates.length ? Math.max(...rates) : null;
}

type Values = StatsMessage['domains'][number]['values'];
type Primitive = Values[string];

/** A VM's stats as JSON primitives (bigints as numbers or decimal strings), at most 1024 keys. */
export function statsValues(stats: Record<string, unknown> | null): Values {
  const out: Values = {};
  if (!stats) return out;
  let n = 0;
  for (const [k, raw] of Object.entries(stats)) {
    if (k.length > 128) continue;
    if (++n > 1024) break;
    const v = bigintReplacer(k, raw);
    if (typeof v === 'string') out[k] = clip(v, 1024);
    else if (typeof v === 'number') out[k] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'boolean' || v === null) out[k] = v;
  }
  return out;
}

/** Per VM, the stats keys whose value changed since `prev` (every key for a new VM). */
export function statsDeltas(
  prev: ReadonlyMap<string, Values>,
  status: AgentStatus,
): { deltas: StatsMessage['domains']; next: Map<string, Values> } {
  const next = new Map<string, Values>();
  const deltas: StatsMessage['domains'] = [];
  for (const d of status.domains) {
    const now = statsValues(d.stats);
    next.set(d.uuid, now);
    const before = prev.get(d.uuid);
    const changed: Record<string, Primitive> = {};
    let any = false;
    for (const [k, v] of Object.entries(now)) {
      if (before?.[k] !== v) {
        changed[k] = v;
        any = true;
      }
    }
    if (any) deltas.push({ uuid: d.uuid, values: changed });
  }
  return { deltas, next };
}
