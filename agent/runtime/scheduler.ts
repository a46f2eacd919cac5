import type { Logger } from 'pino';
import type { CheckpointMeasure } from '../actions/types.ts';
import type { Risk } from '../health/risk.ts';
import type { DomainRecord } from '../policy/records.ts';
import { latestKnownGood, promoteKnownGood, pruneHistory } from '../policy/records.ts';
import type { Policy } from '../policy/schema.ts';
import type { AgentStore } from '../state/store.ts';
import type { DomainTracker } from '../tracker/domain-tracker.ts';
import type { ExecutorPort } from './executor-port.ts';

export interface SchedulerDeps {
  readonly store: AgentStore;
  readonly tracker: DomainTracker;
  readonly executor: ExecutorPort;
  readonly policyOf: (uuid: string, name: string) => Policy;
  /** Host risk from the health readers (drives the risk-adaptive checkpoint cadence). */
  readonly hostRisk: () => Risk;
  readonly cadence: { readonly warning: number; readonly failing: number };
  /** True while a recovery is scheduled or running for the VM. */
  readonly recovering: (uuid: string) => boolean;
  readonly shadow: boolean;
  readonly retentionMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/** The first snapshot or checkpoint of a VM comes this long after it started running (at most the interval). */
const FIRST_AFTER_MS = 60_000;

/**
 * The high level's periodic work and the records' upkeep: snapshots and checkpoints on their
 * cadence (checkpoints more often when the host's hardware risk is elevated), retention,
 * known-good promotion, and stability (a VM that has run long enough after a restart is
 * healthy again: its revert marker clears; an operator's fix lifts a quarantine).
 */
export class Scheduler {
  readonly #d: SchedulerDeps;
  readonly #now: () => number;
  readonly #busy = new Set<string>();

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Multiplier on the checkpoint interval for the current host risk. */
  cadenceFactor(): number {
    const risk = this.#d.hostRisk();
    if (risk === 'failing') return this.#d.cadence.failing;
    if (risk === 'warning') return this.#d.cadence.warning;
    return 1;
  }

  tick(): void {
    const now = this.#now();
    for (const view of this.#d.tracker.all()) {
      const rec = this.#d.store.peek(view.uuid);
      if (!rec) continue;
      const policy = this.#d.policyOf(view.uuid, view.name);
      pruneHistory(rec, Math.max(this.#d.retentionMs, policy.restart.windowMs), now);
      const promoted = promoteKnownGood(rec, policy.snapshots.knownGoodAfterMs, now);
      for (const name of promoted) {
        this.#d.log.info(
          { domainUuid: rec.uuid, domainName: rec.name, snapshot: name },
          'snapshot is now known-good',
        );
        this.#d.store.markDirty();
      }
      this.#stability(rec, policy, view.state, now);
      if (
        view.state !== 'Running' ||
        policy.level !== 'high' ||
        rec.quarantine ||
        this.#d.shadow ||
        policy.shadow
      )
        continue;
      if (
        this.#busy.has(rec.uuid) ||
        this.#d.recovering(rec.uuid) ||
        this.#d.executor.activeAction(rec.uuid)
      )
        continue;
      const upFor = rec.upSince === null ? 0 : now - rec.upSince;
      if (
        policy.snapshots.enabled &&
        due(rec.lastSnapshotAt, policy.snapshots.intervalMs, upFor, now)
      ) {
        this.#launch(rec, 'snapshot', policy);
      } else if (
        policy.checkpoints.enabled &&
        due(
          rec.lastCheckpointAt,
          Math.round(policy.checkpoints.intervalMs * this.cadenceFactor()),
          upFor,
          now,
        )
      ) {
        this.#launch(rec, 'checkpoint', policy);
      }
    }
  }

  #stability(rec: DomainRecord, policy: Policy, state: string, now: number): void {
    if (
      state !== 'Running' ||
      rec.upSince === null ||
      now - rec.upSince < policy.restart.stableAfterMs
    )
      return;
    if (rec.revertedAt !== null) {
      rec.revertedAt = null;
      this.#d.store.markDirty();
    }
    if (rec.quarantine && rec.quarantine.at < rec.upSince) {
      // Started by an operator after the quarantine and stable since: lift it.
      this.#d.log.warn(
        { domainUuid: rec.uuid, domainName: rec.name },
        'quarantine lifted: the VM has run stably since an operator started it',
      );
      rec.quarantine = null;
      rec.restarts = [];
      this.#d.store.markDirty();
    }
  }

  #launch(rec: DomainRecord, what: 'snapshot' | 'checkpoint', policy: Policy): void {
    this.#busy.add(rec.uuid);
    const now = this.#now();
    const good = latestKnownGood(rec);
    const isSnap = what === 'snapshot';
    void this.#d.executor
      .run({
        kind: isSnap ? 'snapshot.create' : 'checkpoint.create',
        domain: { uuid: rec.uuid, name: rec.name },
        params: {
          ...(isSnap ? { memory: policy.snapshots.memory } : {}),
          retain: isSnap ? policy.snapshots.retain : policy.checkpoints.retain,
          protect: good ? [good.name] : [],
          description: `virt-ft ${policy.level} level: periodic ${what}`,
        },
        idempotencyKey: `sched:${what}:${rec.uuid}:${now}`,
        origin: 'policy',
        reason: `periodic ${what} (every ${isSnap ? policy.snapshots.intervalMs : Math.round(policy.checkpoints.intervalMs * this.cadenceFactor())} ms)`,
        ifBusy: 'reject',
      })
      .then((r) => {
        if (isSnap) rec.lastSnapshotAt = now;
        else rec.lastCheckpointAt = now;
        if (r.ok) this.#remember(rec, what, r.result, now);
        else this.#d.log.warn({ domainUuid: rec.uuid, error: r.error }, `periodic ${what} failed`);
        this.#d.store.markDirty();
      })
      .finally(() => this.#busy.delete(rec.uuid));
  }

  /** Records the new snapshot/checkpoint and drops the ones retention deleted. */
  #remember(
    rec: DomainRecord,
    what: 'snapshot' | 'checkpoint',
    result: unknown,
    now: number,
  ): void {
    const r = (result ?? {}) as { measure?: CheckpointMeasure; pruned?: string[]; name?: string };
    const measure = r.measure ?? null;
    const name = measure?.name ?? r.name;
    if (!name) return;
    const pruned = new Set(r.pruned ?? []);
    if (what === 'snapshot') {
      rec.snapshots = [
        ...rec.snapshots.filter((s) => !pruned.has(s.name)),
        { name, takenAt: now, knownGoodAt: null, measure },
      ];
    } else {
      rec.checkpoints = [
        ...rec.checkpoints.filter((c) => !pruned.has(c.name)),
        { name, takenAt: now, measure },
      ];
    }
  }
}

function due(last: number | null, intervalMs: number, upForMs: number, now: number): boolean {
  if (last === null) return upForMs >= Math.min(FIRST_AFTER_MS, intervalMs);
  return now - last >= intervalMs;
}
