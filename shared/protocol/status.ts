/**
 * The agent's status on the wire: the body of a `snapshot` message (agent/status.ts
 * `AgentStatus`, after JSON: bigints become numbers or decimal strings, times ISO strings).
 *
 * Objects here are loose: a field the agent adds later passes through, so an older client keeps
 * working (it ignores what it does not know). The fields listed are bounded and typed; the
 * policy, the health report and decisions are bounded JSON (their shapes belong to the agent
 * and are documented with it).
 */
import { z } from 'zod';
import { IsoTime, Json, jsonObject, label, Message, Uuid } from './fields.ts';

const num = z.number().nullable();
const count = z.number().int().min(0);

/** A VM's bulk stats (libvirt typed parameters, e.g. `cpu.time`, `balloon.current`). */
export const StatsValues = z
  .record(label(128), z.union([z.number(), z.string().max(1024), z.boolean(), z.null()]))
  .refine((o) => Object.keys(o).length <= 1024, { error: 'more than 1024 stats' });

const Measure = z.looseObject({
  name: label(256),
  takenAt: IsoTime,
  durationMs: num,
  pausedMs: num,
  sizeBytes: num,
});

/** One domain in the snapshot. */
export const DomainStatusSchema = z.looseObject({
  name: label(256),
  uuid: Uuid,
  state: label(64),
  reason: label(128),
  since: IsoTime,
  unknownWhy: Message.nullable(),
  /** running | paused | stopped | failed | recovering | quarantined | unknown */
  status: label(32),
  policy: jsonObject(64),
  policySource: z.enum(['config', 'metadata']),
  metadataError: Message.nullable(),
  hasGuestAgent: z.boolean(),
  recovery: z.looseObject({ action: label(32), dueAt: IsoTime }).nullable(),
  quarantine: z.looseObject({ at: IsoTime, reason: Message }).nullable(),
  measures: z.looseObject({
    failures: count,
    restarts: count,
    reverts: count,
    recoveries: count,
    mttrMs: num,
    lastRecoveryMs: num,
    availability: num,
    downtimeRatio: num,
    runtimeMs: num,
    downtimeMs: num,
    lastFailure: z.looseObject({ at: IsoTime, kind: label(64), signal: Message }).nullable(),
    lastRecoveredAt: IsoTime.nullable(),
  }),
  snapshots: z.array(Measure.extend({ knownGood: z.boolean() })).max(1000),
  checkpoints: z.array(Measure).max(1000),
  lastKnownGood: label(256).nullable(),
  stats: StatsValues.nullable(),
});

/** The whole status: host, health, every domain with state, policy and measures, recent decisions. */
export const AgentStatusSchema = z.looseObject({
  version: z.literal(1),
  agentId: label(128),
  host: label(255),
  generatedAt: IsoTime,
  startedAt: IsoTime,
  libvirt: z.looseObject({ uri: label(1024), connected: z.boolean() }),
  startupGrace: z.boolean(),
  shadow: z.boolean(),
  incident: z.looseObject({
    active: z.boolean(),
    since: IsoTime.nullable(),
    failures: count,
  }),
  hostMeasures: z.looseObject({
    memoryErrorRate: num,
    memoryErrorRatePerDimm: z
      .array(z.looseObject({ label: label(256), ceRate24h: num, ue: num }))
      .max(1024),
    diskFailureProbability: num,
    risk: label(32),
  }),
  /** agent/health/report.ts `HealthReport`, or null before the first check. */
  health: jsonObject(16).nullable(),
  domains: z.array(DomainStatusSchema).max(10_000),
  /** The most recent automatic decisions (agent/state/store.ts `DecisionRecord`), newest last. */
  decisions: z.array(z.record(label(64), Json)).max(1000),
});
export type WireStatus = z.infer<typeof AgentStatusSchema>;
