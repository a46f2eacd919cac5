/**
 * One host's state at the coordinator: its last snapshot, with every event since applied on
 * top (domain states, failures, decisions, health, the libvirt session), so the views are
 * current between snapshots. Pure: no I/O, tests feed it messages.
 */
import type { EventMessage, WireStatus } from '../../shared/protocol/index.ts';

/** A VM as the fleet views show it. */
export interface VmRecord {
  readonly uuid: string;
  name: string;
  state: string;
  reason: string;
  /** When it entered this state. */
  since: string;
  /** running | paused | stopped | failed | recovering | quarantined | unknown */
  status: string;
  /** The effective policy's level (off | low | high), null until a snapshot says. */
  policyLevel: string | null;
  lastFailure: { at: string; kind: string; signal: string } | null;
  lastDecision: {
    at: string;
    phase: string;
    action: string;
    rule: string;
    ok: boolean | null;
  } | null;
}

/** How a libvirt state maps to a status when no snapshot said it. */
export function statusOf(state: string, reason: string): string {
  if (state === 'Running') return 'running';
  if (state === 'Paused' || state === 'PMSuspended' || state === 'Blocked') return 'paused';
  if (state === 'Crashed') return 'failed';
  if (state === 'Shutoff')
    return reason === 'Crashed' || reason === 'Failed' ? 'failed' : 'stopped';
  return 'unknown';
}

function isFailure(state: string, reason: string): boolean {
  return statusOf(state, reason) === 'failed';
}

function str(v: unknown, d = ''): string {
  return typeof v === 'string' ? v : d;
}

/** One host: its snapshot and the events applied since. */
export class HostState {
  readonly host: string;
  status: WireStatus | null = null;
  epoch: string | null = null;
  seq = 0;
  readonly vms = new Map<string, VmRecord>();
  risk = 'unknown';
  libvirtConnected: boolean | null = null;
  /** When the last event or snapshot was applied (ms). */
  updatedMs: number | null = null;
  events = 0;
  /** A VM appeared through an event: its policy level is unknown until a snapshot says. */
  needsPolicy = false;

  constructor(host: string) {
    this.host = host;
  }

  /** Replaces everything with the snapshot's view. */
  applySnapshot(epoch: string, seq: number, status: WireStatus, nowMs = Date.now()): void {
    this.status = status;
    this.epoch = epoch;
    this.seq = seq;
    this.risk = status.hostMeasures.risk;
    this.libvirtConnected = status.libvirt.connected;
    this.vms.clear();
    for (const d of status.domains) {
      const level = d.policy['level'];
      const lf = d.measures.lastFailure;
      this.vms.set(d.uuid.toLowerCase(), {
        uuid: d.uuid.toLowerCase(),
        name: d.name,
        state: d.state,
        reason: d.reason,
        since: d.since,
        status: d.status,
        policyLevel: typeof level === 'string' ? level : null,
        lastFailure: lf ? { at: lf.at, kind: lf.kind, signal: lf.signal } : null,
        lastDecision: null,
      });
    }
    this.updatedMs = nowMs;
  }

  /** Takes the policy levels (only) of a side snapshot; returns how many VMs it filled. */
  mergePolicies(status: WireStatus): number {
    let n = 0;
    for (const d of status.domains) {
      const vm = this.vms.get(d.uuid.toLowerCase());
      const level = d.policy['level'];
      if (vm && typeof level === 'string' && vm.policyLevel !== level) {
        vm.policyLevel = level;
        n++;
      }
    }
    this.needsPolicy = [...this.vms.values()].some((v) => v.policyLevel === null);
    return n;
  }

  /** Applies one event on top (in seq order). */
  applyEvent(epoch: string, e: EventMessage, nowMs = Date.now()): void {
    this.epoch = epoch;
    this.seq = e.seq;
    this.events++;
    this.updatedMs = nowMs;
    switch (e.kind) {
      case 'domain': {
        const uuid = e.uuid.toLowerCase();
        if (e.to === null) {
          this.vms.delete(uuid);
          return;
        }
        const vm = this.vms.get(uuid) ?? this.#newVm(uuid, e.name, e.at);
        vm.name = e.name;
        vm.state = e.to.state;
        vm.reason = e.to.reason;
        vm.since = e.at;
        vm.status = statusOf(e.to.state, e.to.reason);
        if (isFailure(e.to.state, e.to.reason))
          vm.lastFailure = { at: e.at, kind: 'crash', signal: `${e.to.state}/${e.to.reason}` };
        return;
      }
      case 'decision': {
        const uuid = e.domain.uuid.toLowerCase();
        const vm = this.vms.get(uuid) ?? this.#newVm(uuid, e.domain.name, e.at);
        if (e.failure)
          vm.lastFailure = { at: e.failure.at, kind: e.failure.kind, signal: e.failure.signal };
        vm.lastDecision = {
          at: e.at,
          phase: e.phase,
          action: e.action,
          rule: e.rule,
          ok: e.outcome?.ok ?? null,
        };
        if (e.phase === 'decided' && !e.shadow && (e.action === 'restart' || e.action === 'revert'))
          vm.status = 'recovering';
        else if (e.phase === 'decided' && e.action === 'quarantine') vm.status = 'quarantined';
        else if (e.phase === 'finished') vm.status = statusOf(vm.state, vm.reason);
        return;
      }
      case 'health':
        this.risk = e.risk;
        return;
      case 'session':
        this.libvirtConnected = e.state === 'connected';
        return;
    }
  }

  /** VM counts by status. */
  counts(): Record<string, number> {
    const out: Record<string, number> = { total: this.vms.size };
    for (const vm of this.vms.values()) out[vm.status] = (out[vm.status] ?? 0) + 1;
    return out;
  }

  /** A VM by UUID or name. */
  findVm(ref: string): VmRecord | null {
    const byUuid = this.vms.get(ref.toLowerCase());
    if (byUuid) return byUuid;
    for (const vm of this.vms.values()) if (vm.name === ref) return vm;
    return null;
  }

  /** The agent's own host name, from the snapshot. */
  get agentHost(): string | null {
    return this.status ? str(this.status.host) : null;
  }

  #newVm(uuid: string, name: string, at: string): VmRecord {
    const vm: VmRecord = {
      uuid,
      name,
      state: 'unknown',
      reason: 'Unknown',
      since: at,
      status: 'unknown',
      policyLevel: null,
      lastFailure: null,
      lastDecision: null,
    };
    this.vms.set(uuid, vm);
    this.needsPolicy = true;
    return vm;
  }
}
