/**
 * The action layer's contract: the only code that changes VMs. The policy engine and the
 * stream's admin commands both go through {@link ActionExecutor.run}.
 *
 * Results by kind (the `result` of an ok {@link ActionResult}):
 * - `domain.*`: {@link LifecycleResult}
 * - `snapshot.create`, `checkpoint.create`: {@link CreateResult}
 * - `snapshot.list`: {@link SnapshotListResult}; `checkpoint.list`: {@link CheckpointListResult}
 * - `snapshot.revert`: {@link RevertResult}
 * - `snapshot.delete`, `checkpoint.delete`: {@link DeleteResult}
 * - any kind resolved by {@link ActionExecutor.recover} after a crash: {@link RecoveredResult}
 *
 * @see docs/adr/0010-actions-executor.md
 */
import type { LibvirtClient } from '../libvirt/index.ts';

/** Every operation the executor performs. */
export const ACTION_KINDS = [
  'domain.start',
  'domain.shutdown',
  'domain.destroy',
  'domain.restart',
  'domain.suspend',
  'domain.resume',
  'domain.managed-save',
  'snapshot.create',
  'snapshot.revert',
  'snapshot.delete',
  'snapshot.list',
  'checkpoint.create',
  'checkpoint.delete',
  'checkpoint.list',
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Kinds that only read: no in-flight marker, nothing to recover. */
export const READ_ONLY_KINDS: ReadonlySet<ActionKind> = new Set([
  'snapshot.list',
  'checkpoint.list',
]);

/** Who asked: the policy engine, an admin through the coordinator, or the local CLI. */
export type ActionOrigin = 'policy' | 'admin' | 'cli';

/**
 * Parameters. A parameter that does not apply to the request's kind is validated and then
 * ignored (it is not part of the idempotency fingerprint); an unknown key is rejected.
 */
export interface ActionParams {
  /**
   * snapshot.create / checkpoint.create: a name; generated (`vft-YYYYMMDDTHHMMSSZ`) when absent.
   * snapshot.revert: required. snapshot.delete / checkpoint.delete: the one to delete (or use
   * `retain` alone to prune). Names match `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`; the `vft-` prefix
   * marks virt-ft's own ones.
   */
  readonly name?: string;
  /** snapshot.create / checkpoint.create: free text, ≤ 1,024 characters, no control characters but LF and tab. */
  readonly description?: string;
  /**
   * snapshot.create: include memory. @default true. `false` is possible only for a shut-off
   * domain: libvirt 9 takes internal snapshots of a running VM only with memory (see the ADR).
   */
  readonly memory?: boolean;
  /** create: prune virt-ft's own ones down to this many after; delete without `name`: prune only. */
  readonly retain?: number;
  /** Names retention must never delete (e.g. the last known-good snapshot). */
  readonly protect?: readonly string[];
  /** domain.shutdown / domain.restart: graceful wait before destroy. @default 30000 */
  readonly gracefulTimeoutMs?: number;
}

export interface ActionRequest {
  readonly kind: ActionKind;
  readonly domain: { readonly uuid: string; readonly name?: string };
  readonly params?: ActionParams;
  /** Runs exactly once per key (persisted); a repeat returns the first result with `duplicate: true`. */
  readonly idempotencyKey: string;
  /** Overall deadline, from the call of run() (queueing included). @default the executor's actionTimeoutMs */
  readonly deadlineMs?: number;
  readonly origin: ActionOrigin;
  /** Why, in a few words (the decision's reason); goes into the audit line. ≤ 1,024 characters. */
  readonly reason: string;
  /** If another action runs on the same VM: wait for it (default) or answer busy at once. */
  readonly ifBusy?: 'wait' | 'reject';
}

/** Timing and size of one snapshot or checkpoint (the seed's T_CP, paused time and S). */
export interface CheckpointMeasure {
  readonly name: string;
  readonly kind: 'snapshot' | 'checkpoint';
  readonly takenAt: string;
  /** T_CP: wall time of the libvirt call. */
  readonly durationMs: number;
  /** Time the VM was paused for it (from its Suspended → Resumed events), 0 if never. */
  readonly pausedMs: number;
  /**
   * S, in bytes, null if unknown. Snapshot: growth of the disks' allocation across the call
   * (the memory state plus qcow2 metadata). Checkpoint: the data written since its parent
   * checkpoint (libvirt's SIZE of the parent, read just after), i.e. what an incremental backup
   * of this interval copies; null for the first checkpoint of a chain.
   */
  readonly sizeBytes: number | null;
}

/** A domain's state by name, e.g. `{ state: 'Running', reason: 'Booted' }`. */
export interface StateSummary {
  readonly state: string;
  readonly reason: string;
}

/** What a lifecycle action did: `steps` is empty when the domain already was in the wanted state. */
export interface LifecycleResult {
  readonly before: StateSummary;
  readonly after: StateSummary;
  readonly steps: readonly (
    'start' | 'start-paused' | 'shutdown' | 'destroy' | 'suspend' | 'resume' | 'managed-save'
  )[];
  /** shutdown/restart: the guest did not stop within gracefulTimeoutMs and was destroyed. */
  readonly escalated: boolean;
}

export interface CreateResult {
  readonly name: string;
  readonly measure: CheckpointMeasure;
  /** virt-ft's own ones deleted by retention after the create. */
  readonly pruned: readonly string[];
  /** Set when retention failed (the create itself succeeded). */
  readonly pruneError?: string;
}

export interface SnapshotInfo {
  readonly name: string;
  /** Created by virt-ft (name starts with `vft-`). */
  readonly own: boolean;
  readonly creationTime: string;
  /** libvirt's snapshot state: running, paused, shutoff, disk-snapshot… */
  readonly state: string;
  readonly memory: boolean;
  readonly description: string | null;
  readonly parent: string | null;
  readonly current: boolean;
}
export interface SnapshotListResult {
  readonly snapshots: readonly SnapshotInfo[];
}

export interface CheckpointInfo {
  readonly name: string;
  readonly own: boolean;
  readonly creationTime: string;
  readonly description: string | null;
  readonly parent: string | null;
  /** Bytes written since this checkpoint (libvirt's SIZE), null when the domain is not running. */
  readonly sizeBytes: number | null;
}
export interface CheckpointListResult {
  readonly checkpoints: readonly CheckpointInfo[];
}

export interface RevertResult {
  readonly name: string;
  /** virt-ft's checkpoints deleted first: QEMU refuses to load a snapshot while dirty bitmaps exist. */
  readonly removedCheckpoints: readonly string[];
  readonly after: StateSummary;
}

export interface DeleteResult {
  readonly deleted: readonly string[];
}

/** The result recorded for an action found interrupted by a crash and resolved on startup. */
export interface RecoveredResult {
  readonly recovered: true;
  /** snapshot/checkpoint create and delete: the name concerned. */
  readonly name?: string;
  /** The domain's state when it was resolved, null if the domain is gone. */
  readonly state: StateSummary | null;
}

interface ResultBase {
  readonly kind: ActionKind;
  readonly domainUuid: string;
  readonly idempotencyKey: string;
  readonly duplicate: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Resolved by recover() after the agent stopped in the middle of it. */
  readonly recovered?: boolean;
}

export type ActionResult =
  | (ResultBase & {
      readonly ok: true;
      /** Kind-specific: the snapshot/checkpoint measure, the list, the deleted names… */
      readonly result: unknown;
    })
  | (ResultBase & {
      readonly ok: false;
      /** `code` is a stable `VFT_ERR_ACTION_*` code (docs/errors.md). */
      readonly error: { readonly code: string; readonly message: string };
    });

/** A pino-like logger. */
export interface ActionLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  child(bindings: Record<string, unknown>): ActionLogger;
}

/** Options of {@link ActionExecutor}. */
export interface ActionExecutorOptions {
  /** The current libvirt client, or null while disconnected (actions then answer unavailable). */
  readonly client: () => LibvirtClient | null;
  /** The agent's state directory; the executor keeps its files under `<stateDir>/actions/`. */
  readonly stateDir: string;
  readonly log: ActionLogger;
  /** Deadline of a request that gives none. */
  readonly actionTimeoutMs: number;
  /** Wall clock, ms since the epoch (timestamps, key expiry). @default Date.now */
  readonly now?: () => number;
  /** How long an idempotency key is remembered. @default 86400000 (24 h) */
  readonly keyRetentionMs?: number;
  /** Requests waiting per VM behind the running one; more are answered busy. @default 4 */
  readonly maxQueuePerDomain?: number;
  /** {@link ActionExecutor.activeAction} still names an action this long after it ended, for its late events. @default 2000 */
  readonly eventGraceMs?: number;
  /** Interval of state polls while waiting (graceful shutdown, running after start). @default 200 */
  readonly pollIntervalMs?: number;
}

/** What {@link ActionExecutor.recover} found for one in-flight marker. */
export interface RecoveryEntry {
  readonly idempotencyKey: string;
  readonly kind: ActionKind;
  readonly domainUuid: string;
  readonly startedAt: string;
  /**
   * `succeeded`: the effect is there; `failed`: it is not; `unknown`: libvirt cannot tell
   * (e.g. a half-done restart); `already-recorded`: the result was stored before the crash;
   * `pending`: libvirt was unreachable, the marker stays for the next recover().
   */
  readonly outcome: 'succeeded' | 'failed' | 'unknown' | 'already-recorded' | 'pending';
  readonly detail: string;
  readonly state: StateSummary | null;
}
