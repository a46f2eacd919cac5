import type { CheckpointMeasure } from '../actions/types.ts';
import type { FailureKind } from './detect.ts';

/** A snapshot virt-ft took, and when it became known-good (healthy long enough after it). */
export interface SnapshotRecord {
  readonly name: string;
  readonly takenAt: number;
  knownGoodAt: number | null;
  readonly measure: CheckpointMeasure | null;
}

export interface CheckpointRecord {
  readonly name: string;
  readonly takenAt: number;
  readonly measure: CheckpointMeasure | null;
}

/** The seed's per-VM measures. Times in ms. */
export interface DomainMeasures {
  failures: number;
  restarts: number;
  reverts: number;
  recoveries: number;
  /** T_down: unplanned downtime, from failure detection to running again. */
  downtimeMs: number;
  /** T_run: time seen running. */
  runtimeMs: number;
  /** The last recoveries' durations (failure detected → running), newest last, at most 50. */
  recoveryMs: number[];
  lastFailure: { readonly at: number; readonly kind: FailureKind; readonly signal: string } | null;
  lastRecoveredAt: number | null;
}

/** What the agent keeps per VM across restarts (state dir, domains.json). */
export interface DomainRecord {
  readonly uuid: string;
  name: string;
  /** Failures within the retention period, oldest first. */
  failures: { readonly at: number; readonly kind: FailureKind; readonly signal: string }[];
  /** Automatic restarts (and reverts), oldest first. */
  restarts: number[];
  /** When the current crash loop was reverted to a known-good snapshot. */
  revertedAt: number | null;
  quarantine: { readonly at: number; readonly reason: string } | null;
  /** Unplanned downtime in progress. */
  down: { readonly since: number; readonly kind: FailureKind } | null;
  /** Running since (for T_run and stability), null when not running. */
  upSince: number | null;
  /** Last state seen, for the start-up diff after the agent itself was down. */
  lastState: { readonly state: string; readonly reason: string; readonly at: number } | null;
  snapshots: SnapshotRecord[];
  checkpoints: CheckpointRecord[];
  lastSnapshotAt: number | null;
  lastCheckpointAt: number | null;
  measures: DomainMeasures;
}

export function newRecord(uuid: string, name: string): DomainRecord {
  return {
    uuid,
    name,
    failures: [],
    restarts: [],
    revertedAt: null,
    quarantine: null,
    down: null,
    upSince: null,
    lastState: null,
    snapshots: [],
    checkpoints: [],
    lastSnapshotAt: null,
    lastCheckpointAt: null,
    measures: {
      failures: 0,
      restarts: 0,
      reverts: 0,
      recoveries: 0,
      downtimeMs: 0,
      runtimeMs: 0,
      recoveryMs: [],
      lastFailure: null,
      lastRecoveredAt: null,
    },
  };
}

/** Availability = T_run / (T_run + T_down); R = T_down / T_run; MTTR = mean recovery time. */
export function derivedMeasures(
  r: DomainRecord,
  now: number,
): {
  availability: number | null;
  downtimeRatio: number | null;
  mttrMs: number | null;
  runtimeMs: number;
  downtimeMs: number;
} {
  const runtimeMs = r.measures.runtimeMs + (r.upSince !== null ? Math.max(0, now - r.upSince) : 0);
  const downtimeMs = r.measures.downtimeMs + (r.down ? Math.max(0, now - r.down.since) : 0);
  const total = runtimeMs + downtimeMs;
  const rec = r.measures.recoveryMs;
  return {
    runtimeMs,
    downtimeMs,
    availability: total > 0 ? runtimeMs / total : null,
    downtimeRatio: runtimeMs > 0 ? downtimeMs / runtimeMs : null,
    mttrMs: rec.length ? Math.round(rec.reduce((a, b) => a + b, 0) / rec.length) : null,
  };
}

/** The newest known-good snapshot that still exists, or null. */
export function latestKnownGood(r: DomainRecord): SnapshotRecord | null {
  let best: SnapshotRecord | null = null;
  for (const s of r.snapshots)
    if (s.knownGoodAt !== null && (!best || s.takenAt > best.takenAt)) best = s;
  return best;
}

/**
 * Marks snapshots known-good once `afterMs` have passed since they were taken with no failure
 * recorded in between and the VM not down now (snapshots are only taken of a running VM).
 * Returns the names that became known-good now.
 */
export function promoteKnownGood(r: DomainRecord, afterMs: number, now: number): string[] {
  const out: string[] = [];
  if (r.down) return out;
  for (const s of r.snapshots) {
    if (s.knownGoodAt !== null || now - s.takenAt < afterMs) continue;
    const failedAfter = r.failures.some((f) => f.at >= s.takenAt && f.at <= s.takenAt + afterMs);
    if (!failedAfter) {
      s.knownGoodAt = now;
      out.push(s.name);
    }
  }
  return out;
}

/** Drops failures and restarts older than `keepMs`. */
export function pruneHistory(r: DomainRecord, keepMs: number, now: number): void {
  r.failures = r.failures.filter((f) => now - f.at <= keepMs);
  r.restarts = r.restarts.filter((t) => now - t <= keepMs);
}
