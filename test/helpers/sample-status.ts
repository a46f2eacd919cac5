/**
 * Sample agent statuses (what a `snapshot` message carries) for tests and load generators: a
 * complete, valid status with defaults, each field overridable.
 */
import { resolvePolicy } from '../../agent/policy/schema.ts';
import type { AgentStatus, DomainStatus } from '../../agent/status.ts';

/** A healthy running domain with zero measures. */
export function sampleDomainStatus(
  uuid: string,
  name: string,
  overrides: Partial<DomainStatus> = {},
): DomainStatus {
  const state = overrides.state ?? 'Running';
  return {
    name,
    uuid,
    state,
    reason: 'Booted',
    since: new Date(0).toISOString(),
    unknownWhy: null,
    status: state === 'Running' ? 'running' : 'stopped',
    policy: resolvePolicy({ level: 'low' }),
    policySource: 'config',
    metadataError: null,
    hasGuestAgent: false,
    recovery: null,
    quarantine: null,
    measures: {
      failures: 0,
      restarts: 0,
      reverts: 0,
      recoveries: 0,
      mttrMs: null,
      lastRecoveryMs: null,
      availability: 1,
      downtimeRatio: 0,
      runtimeMs: 0,
      downtimeMs: 0,
      lastFailure: null,
      lastRecoveredAt: null,
    },
    snapshots: [],
    checkpoints: [],
    lastKnownGood: null,
    stats: null,
    ...overrides,
  };
}

/** An agent status with no health report, no incident and no decisions. */
export function sampleAgentStatus(overrides: Partial<AgentStatus> = {}): AgentStatus {
  const now = new Date().toISOString();
  return {
    version: 1,
    agentId: 'host-1',
    host: 'host-1',
    generatedAt: now,
    startedAt: now,
    libvirt: { uri: 'qemu:///system', connected: true },
    startupGrace: false,
    shadow: false,
    incident: { active: false, since: null, failures: 0 },
    hostMeasures: {
      memoryErrorRate: null,
      memoryErrorRatePerDimm: [],
      diskFailureProbability: null,
      risk: 'unknown',
    },
    health: null,
    domains: [],
    decisions: [],
    ...overrides,
  };
}
