import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ActionKind } from '../actions/types.ts';
import type { AgentConfig } from '../config/schema.ts';
import { classifyEvent, classifyTransition } from '../policy/detect.ts';
import type { Failure } from '../policy/detect.ts';
import { decide } from '../policy/engine.ts';
import type { Decision, HostContext } from '../policy/engine.ts';
import type { DomainRecord } from '../policy/records.ts';
import type { Policy } from '../policy/schema.ts';
import type { DomainEvent } from '../libvirt/index.ts';
import type { AgentStore, DecisionRecord } from '../state/store.ts';
import type { DomainTracker, Transition } from '../tracker/domain-tracker.ts';
import type { ExecutorPort } from './executor-port.ts';

export interface RecoveryDeps {
  readonly config: AgentConfig;
  readonly store: AgentStore;
  readonly tracker: DomainTracker;
  readonly executor: ExecutorPort;
  readonly policyOf: (uuid: string, name: string) => Policy;
  /** Re-reads a VM's state just before acting; null when libvirt does not answer (unknown). */
  readonly currentState: (uuid: string) => Promise<{ state: string; reason: string } | null>;
  readonly log: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Told about every decision once recorded (the status stream listens here). */
  readonly onDecision?: (d: DecisionRecord) => void;
}

interface Pending {
  readonly decision: DecisionRecord;
  readonly failure: Failure;
  readonly dueAt: number;
  /** Times the action was put off because the VM's state was unknown. */
  readonly deferrals?: number;
}

const FAILED_STATES = new Set(['Shutoff', 'Crashed', 'Paused']);
const OWN_EVENT_TAIL_MS = 2_000;
/** A decision whose VM is in an unknown state is retried this often, this many times. */
const UNKNOWN_RETRY_MS = 2_000;
const UNKNOWN_RETRIES = 30;

/**
 * Detection → decision → action. Every transition updates the VM's record and measures; a
 * failure is classified, decided by the pure policy engine, recorded with its reasons before
 * anything runs, and then executed (after its delay) through the action executor — unless the
 * agent is in its start-up grace period, in shadow mode, or the VM's state is unknown.
 */
export class RecoveryManager {
  readonly #d: RecoveryDeps;
  readonly #now: () => number;
  readonly #pending = new Map<string, Pending>();
  readonly #running = new Set<string>();
  readonly #ownUntil = new Map<string, number>();
  readonly #graceUntil: number;
  #deferred: Failure[] = [];

  constructor(deps: RecoveryDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#graceUntil = this.#now() + deps.config.startupGraceMs;
  }

  get inGrace(): boolean {
    return this.#now() < this.#graceUntil;
  }

  /** VMs with a decision waiting for its delay (backoff, throttle, kill-after). */
  pending(): { uuid: string; action: Decision['action']; dueAt: number }[] {
    return [...this.#pending.entries()].map(([uuid, p]) => ({
      uuid,
      action: p.decision.action,
      dueAt: p.dueAt,
    }));
  }

  /** The host-wide incident state, for the engine and the status. */
  hostContext(): HostContext {
    const h = this.#d.store.host;
    if (!h.incident) return { incident: false, nextRestartSlot: null };
    const slot = (h.lastAutoRestartAt ?? 0) + this.#d.config.host.incidentRestartIntervalMs;
    return { incident: true, nextRestartSlot: Math.max(slot, this.#now()) };
  }

  /** Updates records and measures for a transition, and handles the failure it may show. */
  async onTransition(t: Transition): Promise<void> {
    const now = this.#now();
    if (!t.to) {
      this.#d.store.remove(t.uuid);
      this.#pending.delete(t.uuid);
      return;
    }
    const rec = this.#d.store.record(t.uuid, t.name);
    const own =
      this.#d.executor.activeAction(t.uuid) !== null ||
      this.#running.has(t.uuid) ||
      (this.#ownUntil.get(t.uuid) ?? 0) > now;
    // Our own snapshot pauses a VM for a fraction of a second: it did not stop running.
    if (!(own && t.to.state === 'Paused')) this.#account(rec, t.to.state, now);
    rec.lastState = { state: t.to.state, reason: t.to.reason, at: now };
    this.#d.store.markDirty();
    const failure = classifyTransition(t, this.#d.policyOf(t.uuid, t.name), own);
    if (failure) await this.onFailure(failure);
  }

  /** Non-lifecycle events that can be failures (watchdog). */
  async onEvent(e: DomainEvent): Promise<void> {
    const f = classifyEvent(e, this.#d.policyOf(e.domain.uuid, e.domain.name), this.#now());
    if (!f) return;
    // A watchdog that resets the guest has recovered it already: count it, don't act twice.
    if (e.event === 'watchdog' && e.type === 'Reset') {
      this.#count(this.#d.store.record(f.uuid, f.name), f);
      await this.#record(f, {
        action: 'observe',
        delayMs: 0,
        rule: 'watchdog-reset',
        reasons: [`signal: ${f.signal}`, 'QEMU reset the guest itself: counted, no action'],
      });
      return;
    }
    await this.onFailure(f);
  }

  /** A failure from any detector (also the guest-agent pinger). */
  async onFailure(f: Failure): Promise<void> {
    const rec = this.#d.store.record(f.uuid, f.name);
    this.#count(rec, f);
    if (this.inGrace) {
      this.#deferred.push(f);
      this.#d.log.info(
        { domainUuid: f.uuid, domainName: f.name, signal: f.signal },
        'failure during start-up grace: decision deferred',
      );
      return;
    }
    if (this.#pending.has(f.uuid) || this.#running.has(f.uuid)) {
      await this.#record(f, {
        action: 'none',
        delayMs: 0,
        rule: 'already-recovering',
        reasons: [`signal: ${f.signal}`, 'a recovery for this VM is already scheduled or running'],
      });
      return;
    }
    const policy = this.#d.policyOf(f.uuid, f.name);
    const decision = decide(rec, f, policy, this.#now(), this.hostContext(), this.#d.random);
    const shadow = this.#d.config.shadow || policy.shadow;
    const recorded = await this.#record(f, decision, shadow);
    if (
      shadow ||
      decision.action === 'none' ||
      decision.action === 'observe' ||
      decision.action === 'leave-paused'
    )
      return;
    if (decision.action === 'quarantine') {
      rec.quarantine = { at: this.#now(), reason: decision.reasons.at(-1) ?? decision.rule };
      this.#d.store.markDirty();
      this.#d.log.error(
        { domainUuid: f.uuid, domainName: f.name, alert: 'quarantine', reasons: decision.reasons },
        'VM quarantined: automatic recovery stopped',
      );
      await this.#finish(recorded, true, 'quarantined');
      return;
    }
    this.#pending.set(f.uuid, {
      decision: recorded,
      failure: f,
      dueAt: this.#now() + decision.delayMs,
    });
    if (decision.delayMs === 0) this.#runDue();
  }

  /** Runs decisions whose delay is over, and the deferred ones once the grace period ends. */
  async tick(): Promise<void> {
    if (!this.inGrace && this.#deferred.length > 0) {
      const deferred = this.#deferred;
      this.#deferred = [];
      for (const f of deferred) {
        const view = this.#d.tracker.get(f.uuid);
        // Only what is still failed after the grace period is acted on.
        if (view && FAILED_STATES.has(view.state)) await this.onFailure({ ...f, late: true });
      }
    }
    this.#runDue();
  }

  /** Cancels a pending decision (e.g. the VM recovered by itself). */
  cancel(uuid: string): void {
    this.#pending.delete(uuid);
  }

  #runDue(): void {
    const now = this.#now();
    for (const [uuid, p] of [...this.#pending]) {
      if (p.dueAt > now || this.#running.has(uuid)) continue;
      this.#pending.delete(uuid);
      this.#running.add(uuid);
      void this.#execute(p)
        .catch((err: unknown): null => {
          this.#d.log.error({ err, domainUuid: uuid }, 'recovery action crashed');
          return null;
        })
        .then(async (followUp) => {
          this.#running.delete(uuid);
          // Events of our own action can trail its reply: treat them as ours a little longer.
          this.#ownUntil.set(uuid, this.#now() + OWN_EVENT_TAIL_MS);
          if (followUp) await this.onFailure(followUp);
        });
    }
  }

  /** Runs one decision; returns a follow-up failure for the ladder (after an I/O-error kill). */
  async #execute(p: Pending): Promise<Failure | null> {
    const { decision, failure } = p;
    const uuid = failure.uuid;
    const rec = this.#d.store.record(uuid, failure.name);
    const cur = await this.#d.currentState(uuid);
    if (cur === null) {
      // No destructive action on an unknown state; look again soon (libvirt may be coming back).
      const deferrals = (p.deferrals ?? 0) + 1;
      if (deferrals <= UNKNOWN_RETRIES) {
        this.#d.log.warn(
          { decision: decision.id, domainUuid: uuid, deferrals },
          'state unknown (libvirt or QEMU not answering): action put off',
        );
        this.#pending.set(uuid, { ...p, dueAt: this.#now() + UNKNOWN_RETRY_MS, deferrals });
        return null;
      }
      await this.#finish(
        decision,
        false,
        `state unknown for ${Math.round((UNKNOWN_RETRIES * UNKNOWN_RETRY_MS) / 1000)} s (libvirt or QEMU not answering): no destructive action taken`,
      );
      return null;
    }
    if (decision.action === 'restart' && cur.state === 'Running') {
      await this.#finish(decision, true, 'already running again: nothing to do');
      return null;
    }
    if (decision.action === 'kill' && !(cur.state === 'Paused' && cur.reason === 'IOError')) {
      await this.#finish(
        decision,
        true,
        `no longer paused on an I/O error (${cur.state}/${cur.reason}): not killed`,
      );
      return null;
    }
    const kind: ActionKind =
      decision.action === 'restart'
        ? 'domain.restart'
        : decision.action === 'revert'
          ? 'snapshot.revert'
          : decision.action === 'resume'
            ? 'domain.resume'
            : 'domain.destroy';
    const policy = this.#d.policyOf(uuid, failure.name);
    const result = await this.#d.executor.run({
      kind,
      domain: { uuid, name: failure.name },
      params: {
        ...(decision.snapshot ? { name: decision.snapshot } : {}),
        gracefulTimeoutMs: policy.restart.gracefulTimeoutMs,
      },
      idempotencyKey: `auto:${decision.id}`,
      origin: 'policy',
      reason: `${decision.rule}: ${failure.signal}`,
    });
    const now = this.#now();
    if (decision.action === 'restart' || decision.action === 'revert') {
      rec.restarts.push(now);
      this.#d.store.host.lastAutoRestartAt = now;
      if (decision.action === 'revert') {
        rec.revertedAt = now;
        rec.measures.reverts++;
        // A revert deletes virt-ft's checkpoints first (QEMU refuses loadvm with dirty bitmaps).
        const removed = new Set(
          result.ok
            ? ((result.result as { removedCheckpoints?: string[] }).removedCheckpoints ?? [])
            : [],
        );
        rec.checkpoints = rec.checkpoints.filter((c) => !removed.has(c.name));
      } else rec.measures.restarts++;
    }
    this.#d.store.markDirty();
    await this.#finish(
      decision,
      result.ok,
      result.ok
        ? `${kind} done in ${result.durationMs} ms`
        : `${kind} failed: ${result.error.message}`,
    );
    if (result.ok && decision.action === 'kill') {
      // Killed after an I/O error: now the restart ladder takes over.
      return {
        ...failure,
        kind: 'io-error-killed',
        at: now,
        signal: `${failure.signal}, killed after ${decision.delayMs} ms paused`,
      };
    }
    if (!result.ok && decision.action === 'restart') {
      // A restart that failed is one more failure: the ladder goes on (backoff, revert, quarantine).
      return {
        ...failure,
        at: now,
        late: false,
        signal: `${kind} failed: ${result.error.message}`,
      };
    }
    if (!result.ok && decision.action === 'revert') {
      // The last resort failed: stop and ask for an operator.
      rec.quarantine = {
        at: now,
        reason: `revert to ${decision.snapshot ?? '?'} failed: ${result.error.message}`,
      };
      this.#d.store.markDirty();
      this.#d.log.error(
        { domainUuid: uuid, domainName: failure.name, alert: 'quarantine', error: result.error },
        'VM quarantined: the revert to a known-good snapshot failed',
      );
    }
    return null;
  }

  #count(rec: DomainRecord, f: Failure): void {
    rec.failures.push({ at: f.at, kind: f.kind, signal: f.signal });
    rec.measures.failures++;
    rec.measures.lastFailure = { at: f.at, kind: f.kind, signal: f.signal };
    if (!rec.down && f.kind !== 'io-error') rec.down = { since: f.at, kind: f.kind };
    // A host incident: K or more distinct VMs failed within the window (one VM's crash loop is
    // the restart ladder's business, not the host's).
    const host = this.#d.store.host;
    const window = this.#d.config.host.incidentWindowMs;
    host.failures = [
      ...host.failures.filter((x) => typeof x === 'object' && f.at - x.at <= window),
      { at: f.at, uuid: f.uuid },
    ];
    const vms = new Set(host.failures.map((x) => x.uuid)).size;
    if (vms >= this.#d.config.host.incidentFailures) {
      if (!host.incident) {
        host.incident = { since: f.at, failures: vms };
        this.#d.log.error(
          { alert: 'host-incident', vms, windowMs: window },
          'host incident: restarts throttled host-wide',
        );
      } else host.incident.failures = vms;
    }
    this.#d.store.markDirty();
  }

  /** Ends a host incident once fewer than K VMs failed within the window. */
  refreshIncident(): void {
    const host = this.#d.store.host;
    if (!host.incident) return;
    const now = this.#now();
    host.failures = host.failures.filter((x) => now - x.at <= this.#d.config.host.incidentWindowMs);
    if (
      new Set(host.failures.map((x) => x.uuid)).size < this.#d.config.host.incidentFailures &&
      this.#pending.size === 0
    ) {
      this.#d.log.warn(
        { alert: 'host-incident-over', since: host.incident.since },
        'host incident over',
      );
      host.incident = null;
      this.#d.store.markDirty();
    }
  }

  #account(rec: DomainRecord, state: string, now: number): void {
    if (state === 'Running') {
      if (rec.upSince === null) rec.upSince = now;
      if (rec.down) {
        const took = now - rec.down.since;
        rec.measures.downtimeMs += took;
        rec.measures.recoveries++;
        rec.measures.recoveryMs = [...rec.measures.recoveryMs, took].slice(-50);
        rec.measures.lastRecoveredAt = now;
        rec.down = null;
      }
    } else if (state !== 'unknown' && rec.upSince !== null) {
      rec.measures.runtimeMs += now - rec.upSince;
      rec.upSince = null;
    }
  }

  async #record(f: Failure, d: Decision, shadow = false): Promise<DecisionRecord> {
    const rec: DecisionRecord = {
      ...d,
      id: randomUUID(),
      at: this.#now(),
      domain: { uuid: f.uuid, name: f.name },
      failure: { kind: f.kind, signal: f.signal, late: f.late, at: f.at },
      shadow,
    };
    await this.#d.store.recordDecision(rec);
    this.#d.log.info(
      {
        decision: rec.id,
        domainUuid: f.uuid,
        domainName: f.name,
        action: d.action,
        rule: d.rule,
        delayMs: d.delayMs,
        shadow,
        reasons: d.reasons,
      },
      shadow ? `decision (shadow, not acted on): ${d.action}` : `decision: ${d.action}`,
    );
    this.#d.onDecision?.(rec);
    return rec;
  }

  async #finish(d: DecisionRecord, ok: boolean, message: string): Promise<void> {
    d.outcome = { ok, at: this.#now(), message };
    this.#d.log[ok ? 'info' : 'warn'](
      { decision: d.id, domainUuid: d.domain.uuid, ok, outcome: message },
      'decision outcome',
    );
    this.#d.onDecision?.(d);
    await this.#d.store.flush();
  }
}
