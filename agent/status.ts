import { hostname } from 'node:os';
import type { AgentConfig } from './config/schema.ts';
import type { HealthReport } from './health/report.ts';
import type { Decision } from './policy/engine.ts';
import { derivedMeasures, latestKnownGood } from './policy/records.ts';
import type { Policy } from './policy/schema.ts';
import type { DomainInfo } from './runtime/domain-info.ts';
import type { AgentStore, DecisionRecord } from './state/store.ts';
import type { DomainTracker } from './tracker/domain-tracker.ts';

/** The agent's status: what `virt-ft status --json` prints and the stream's snapshot carries. */
export interface AgentStatus {
  readonly version: 1;
  readonly agentId: string;
  readonly host: string;
  readonly generatedAt: string;
  readonly startedAt: string;
  readonly libvirt: { readonly uri: string; readonly connected: boolean };
  readonly startupGrace: boolean;
  readonly shadow: boolean;
  readonly incident: {
    readonly active: boolean;
    readonly since: string | null;
    readonly failures: number;
  };
  /** The seed's host measures: E (memory error rate) and P (disk failure probability). */
  readonly hostMeasures: {
    /** Corrected errors per 24 h on the worst DIMM, null without EDAC. */
    readonly memoryErrorRate: number | null;
    readonly memoryErrorRatePerDimm: readonly {
      readonly label: string;
      readonly ceRate24h: number | null;
      readonly ue: number | null;
    }[];
    /** P = 1 − Π(1 − pᵢ) over the host's disks, null without SMART data. */
    readonly diskFailureProbability: number | null;
    readonly risk: string;
  };
  readonly health: HealthReport | null;
  readonly domains: readonly DomainStatus[];
  readonly decisions: readonly DecisionRecord[];
}

export interface DomainStatus {
  readonly name: string;
  readonly uuid: string;
  readonly state: string;
  readonly reason: string;
  readonly since: string;
  readonly unknownWhy: string | null;
  /** running | paused | stopped | failed | recovering | quarantined | unknown */
  readonly status: string;
  readonly policy: Policy;
  readonly policySource: 'config' | 'metadata';
  readonly metadataError: string | null;
  readonly hasGuestAgent: boolean;
  readonly recovery: { readonly action: Decision['action']; readonly dueAt: string } | null;
  readonly quarantine: { readonly at: string; readonly reason: string } | null;
  readonly measures: {
    readonly failures: number;
    readonly restarts: number;
    readonly reverts: number;
    readonly recoveries: number;
    readonly mttrMs: number | null;
    readonly lastRecoveryMs: number | null;
    readonly availability: number | null;
    /** R = T_down / T_run. */
    readonly downtimeRatio: number | null;
    readonly runtimeMs: number;
    readonly downtimeMs: number;
    readonly lastFailure: {
      readonly at: string;
      readonly kind: string;
      readonly signal: string;
    } | null;
    readonly lastRecoveredAt: string | null;
  };
  readonly snapshots: readonly {
    readonly name: string;
    readonly takenAt: string;
    readonly knownGood: boolean;
    readonly durationMs: number | null;
    readonly pausedMs: number | null;
    readonly sizeBytes: number | null;
  }[];
  readonly checkpoints: readonly {
    readonly name: string;
    readonly takenAt: string;
    readonly durationMs: number | null;
    readonly pausedMs: number | null;
    readonly sizeBytes: number | null;
  }[];
  readonly lastKnownGood: string | null;
  readonly stats: Record<string, unknown> | null;
}

const iso = (t: number | null | undefined): string | null =>
  t === null || t === undefined ? null : new Date(t).toISOString();

export function buildStatus(s: {
  agentId: string;
  startedAt: number;
  config: AgentConfig;
  connected: boolean;
  tracker: DomainTracker;
  store: AgentStore;
  info: ReadonlyMap<string, DomainInfo>;
  policyOf: (uuid: string, name: string) => Policy;
  stats: ReadonlyMap<string, Record<string, unknown>>;
  health: HealthReport | null;
  pending: readonly { uuid: string; action: Decision['action']; dueAt: number }[];
  inGrace: boolean;
  incident: boolean;
  now?: number;
}): AgentStatus {
  const now = s.now ?? Date.now();
  const host = s.store.host;
  const dimms = s.health?.memory.dimms ?? [];
  const rates = dimms.map((d) => d.ceRate24h).filter((r): r is number => typeof r === 'number');
  const domains = s.tracker
    .all()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((v): DomainStatus => {
      const rec = s.store.record(v.uuid, v.name);
      const info = s.info.get(v.uuid);
      const pending = s.pending.find((p) => p.uuid === v.uuid);
      const m = derivedMeasures(rec, now);
      const good = latestKnownGood(rec);
      const status =
        v.state === 'unknown'
          ? 'unknown'
          : rec.quarantine
            ? 'quarantined'
            : pending
              ? 'recovering'
              : rec.down
                ? 'failed'
                : v.state === 'Running'
                  ? 'running'
                  : v.state === 'Paused'
                    ? 'paused'
                    : 'stopped';
      return {
        name: v.name,
        uuid: v.uuid,
        state: v.state,
        reason: v.reason,
        since: new Date(v.since).toISOString(),
        unknownWhy: v.unknownWhy ?? null,
        status,
        policy: s.policyOf(v.uuid, v.name),
        policySource: info?.metadataPolicy ? 'metadata' : 'config',
        metadataError: info?.metadataError ?? null,
        hasGuestAgent: info?.hasGuestAgent ?? false,
        recovery: pending
          ? { action: pending.action, dueAt: new Date(pending.dueAt).toISOString() }
          : null,
        quarantine: rec.quarantine
          ? { at: new Date(rec.quarantine.at).toISOString(), reason: rec.quarantine.reason }
          : null,
        measures: {
          failures: rec.measures.failures,
          restarts: rec.measures.restarts,
          reverts: rec.measures.reverts,
          recoveries: rec.measures.recoveries,
          mttrMs: m.mttrMs,
          lastRecoveryMs: rec.measures.recoveryMs.at(-1) ?? null,
          availability: m.availability,
          downtimeRatio: m.downtimeRatio,
          runtimeMs: m.runtimeMs,
          downtimeMs: m.downtimeMs,
          lastFailure: rec.measures.lastFailure
            ? {
                at: new Date(rec.measures.lastFailure.at).toISOString(),
                kind: rec.measures.lastFailure.kind,
                signal: rec.measures.lastFailure.signal,
              }
            : null,
          lastRecoveredAt: iso(rec.measures.lastRecoveredAt),
        },
        snapshots: rec.snapshots.map((x) => ({
          name: x.name,
          takenAt: new Date(x.takenAt).toISOString(),
          knownGood: x.knownGoodAt !== null,
          durationMs: x.measure?.durationMs ?? null,
          pausedMs: x.measure?.pausedMs ?? null,
          sizeBytes: x.measure?.sizeBytes ?? null,
        })),
        checkpoints: rec.checkpoints.map((x) => ({
          name: x.name,
          takenAt: new Date(x.takenAt).toISOString(),
          durationMs: x.measure?.durationMs ?? null,
          pausedMs: x.measure?.pausedMs ?? null,
          sizeBytes: x.measure?.sizeBytes ?? null,
        })),
        lastKnownGood: good?.name ?? null,
        stats: s.stats.get(v.uuid) ?? null,
      };
    });
  return {
    version: 1,
    agentId: s.agentId,
    host: hostname(),
    generatedAt: new Date(now).toISOString(),
    startedAt: new Date(s.startedAt).toISOString(),
    libvirt: { uri: s.config.libvirt.uri, connected: s.connected },
    startupGrace: s.inGrace,
    shadow: s.config.shadow,
    incident: {
      active: s.incident,
      since: iso(host.incident?.since),
      failures: host.failures.length,
    },
    hostMeasures: {
      memoryErrorRate: rates.length ? Math.max(...rates) : null,
      memoryErrorRatePerDimm: dimms.map((d) => ({
        label: d.label,
        ceRate24h: d.ceRate24h ?? null,
        ue: d.ue ?? null,
      })),
      diskFailureProbability: s.health?.host.diskFailureProbability ?? null,
      risk: s.health?.host.risk ?? 'unknown',
    },
    health: s.health,
    domains,
    decisions: s.store.decisions(20),
  };
}
