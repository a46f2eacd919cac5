import { z } from 'zod';
import { HealthConfigSchema } from '../health/config.ts';
import { PolicyOverrideSchema } from '../policy/schema.ts';
import { StreamConfigSchema } from '../stream/config.ts';

/**
 * The agent's configuration: one zod schema gives the types, the defaults and the validation.
 * Unknown keys are errors (a typo must not silently fall back to a default). Durations are in
 * milliseconds and their names end in `Ms`. systemd/agent.example.jsonc explains every key.
 */
export const AgentConfigSchema = z.strictObject({
  /** Identifies this agent to the coordinator. @default the host name */
  agentId: z.string().min(1).max(128).optional(),
  /** Where restart counts, known-good snapshots, idempotency keys, decisions and history live. */
  stateDir: z.string().min(1).default('/var/lib/virt-ft'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    })
    .prefault({}),
  libvirt: z
    .strictObject({
      uri: z.string().default('qemu:///system'),
      /** Deadline of each libvirt call. libvirt's own job-lock wait is 30 s. */
      callTimeoutMs: z.number().int().min(100).default(30_000),
      /** Deadline of a long action (snapshot with memory, managed save, backup start). */
      actionTimeoutMs: z.number().int().min(1000).default(300_000),
      keepaliveIntervalMs: z.number().int().min(100).default(5_000),
      keepaliveCount: z.number().int().min(1).default(5),
      /** Bulk stats cadence; also the probe that marks a VM `unknown` when QEMU stops answering. */
      statsIntervalMs: z.number().int().min(1000).default(15_000),
      /** A VM whose monitor does not answer within this is `unknown`: no destructive action. */
      monitorTimeoutMs: z.number().int().min(100).default(10_000),
    })
    .prefault({}),
  /** After the agent starts, no automatic action for this long: its own restart is never a failure. */
  startupGraceMs: z.number().int().nonnegative().default(15_000),
  /** Run every policy without acting; decisions are recorded with `shadow: true`. */
  shadow: z.boolean().default(false),
  /** The default policy of every VM (a partial: the level's preset fills the rest). */
  policy: PolicyOverrideSchema.default({ level: 'low' }),
  /** Per-VM overrides, keyed by domain name or UUID. A VM's libvirt metadata wins over these. */
  domains: z.record(z.string().min(1), PolicyOverrideSchema).default({}),
  host: z
    .strictObject({
      /** K or more VMs failing on this host within the window make a host incident: restarts are throttled. */
      incidentFailures: z.number().int().min(2).default(3),
      incidentWindowMs: z.number().int().min(1000).default(120_000),
      /** During an incident: one restart at a time, at least this far apart. */
      incidentRestartIntervalMs: z.number().int().nonnegative().default(15_000),
      /** High-level checkpoint cadence multiplier when host risk is `warning` / `failing`. */
      riskWarningCadence: z.number().min(0.01).max(1).default(0.5),
      riskFailingCadence: z.number().min(0.01).max(1).default(0.25),
    })
    .prefault({}),
  health: HealthConfigSchema.extend({
    /** Where the health history lives; defaults to the agent's stateDir. */
    stateDir: z.string().min(1).optional(),
    enabled: z.boolean().default(true),
    /** How often EDAC is read and host risk recomputed (SMART has its own per-device minimum interval). */
    intervalMs: z.number().int().min(10_000).default(300_000),
  }).prefault({}),
  /** The status stream (agent/stream, docs/protocol.md): off unless `stream.listen` is set. */
  stream: StreamConfigSchema.prefault({}),
  /** Decisions, idempotency keys and journal entries older than this are dropped. */
  retentionMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3_600_000),
});

export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
