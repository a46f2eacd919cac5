/**
 * What the API returns for hosts, VMs and health: plain JSON built from the hosts' state and
 * their links. A host is `reachable` while its agent is connected and subscribed; otherwise the
 * view says since when it was last heard from.
 */
import type { LinkInfo } from '../link/agent-link.ts';
import type { HostState, VmRecord } from './host-state.ts';

/** One host in `GET /v1/hosts`. */
export interface HostView {
  readonly host: string;
  readonly agentId: string | null;
  readonly hostname: string | null;
  readonly reachable: boolean;
  readonly connection: LinkInfo['state'];
  readonly lastHeardAt: string | null;
  /** Ms since the agent was last heard from (null: never). */
  readonly lastHeardAgoMs: number | null;
  /** Ms in the current connection state. */
  readonly stateForMs: number;
  readonly lastError: string | null;
  readonly epoch: string | null;
  readonly seq: number;
  readonly risk: string;
  readonly libvirtConnected: boolean | null;
  readonly vms: Record<string, number>;
  readonly agentVersion: string | null;
}

/** One VM in `GET /v1/vms`. */
export type VmView = VmRecord & { readonly host: string };

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A host as `GET /v1/hosts` shows it. */
export function hostView(s: HostState, link: LinkInfo, nowMs: number): HostView {
  return {
    host: s.host,
    agentId: link.hello?.agentId ?? (s.status ? s.status.agentId : null),
    hostname: s.agentHost,
    reachable: link.state === 'subscribed',
    connection: link.state,
    lastHeardAt: iso(link.lastHeardMs),
    lastHeardAgoMs: link.lastHeardMs === null ? null : Math.max(0, nowMs - link.lastHeardMs),
    stateForMs: Math.max(0, nowMs - link.sinceMs),
    lastError: link.lastError,
    epoch: s.epoch,
    seq: s.seq,
    risk: s.risk,
    libvirtConnected: s.libvirtConnected,
    vms: s.counts(),
    agentVersion: link.hello?.agentVersion ?? null,
  };
}

/** A host's VMs as `GET /v1/vms` shows them, by name. */
export function vmViews(s: HostState): VmView[] {
  return [...s.vms.values()]
    .map((vm) => ({ ...vm, host: s.host }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One host's health in `GET /v1/health`. */
export function healthView(s: HostState, link: LinkInfo, nowMs: number) {
  const st = s.status;
  return {
    host: s.host,
    reachable: link.state === 'subscribed',
    lastHeardAgoMs: link.lastHeardMs === null ? null : Math.max(0, nowMs - link.lastHeardMs),
    risk: s.risk,
    libvirtConnected: s.libvirtConnected,
    hostMeasures: st?.hostMeasures ?? null,
    incident: st?.incident ?? null,
    health: st?.health ?? null,
    failedVms: [...s.vms.values()].filter((v) => v.status === 'failed').map((v) => v.name),
  };
}
