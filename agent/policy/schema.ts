import { z } from 'zod';

/**
 * A fault-tolerance policy for one VM. Levels are presets: `off` watches only; `low` (LFT)
 * restarts on failure with backoff and quarantines a crash loop; `high` (HFT) adds periodic
 * snapshots and checkpoints, and reverts a crash loop to the last known-good snapshot before
 * quarantine. Every knob can be set in the agent's config, per domain in the config, and in
 * the domain's own libvirt metadata (agent/policy/metadata.ts), which wins.
 */
export const PolicyLevel = z.enum(['off', 'low', 'high']);
export type PolicyLevel = z.infer<typeof PolicyLevel>;

/**
 * Each section is declared once as `{ key: [schema, default] }`, from which both the full
 * schema (with defaults) and the override schema (every key optional, NO defaults, so a partial
 * override never resets what an earlier layer set) are built.
 */
type Fields = Record<string, readonly [z.ZodType, unknown]>;

function full<F extends Fields>(f: F) {
  return z.strictObject(
    Object.fromEntries(
      Object.entries(f).map(([k, [schema, d]]) => [k, schema.default(d as never)]),
    ) as {
      [K in keyof F]: z.ZodDefault<F[K][0]>;
    },
  );
}

function partial<F extends Fields>(f: F) {
  return z.strictObject(
    Object.fromEntries(Object.entries(f).map(([k, [schema]]) => [k, schema.optional()])) as {
      [K in keyof F]: z.ZodOptional<F[K][0]>;
    },
  );
}

const msField = (d: number) => [z.number().int().nonnegative(), d] as const;

const RESTART = {
  /** `on-failure`: a guest's own shutdown and an admin's destroy are left alone. `always`: the VM must always run. */
  strategy: [z.enum(['on-failure', 'always']), 'on-failure'],
  /** Automatic restarts allowed within `windowMs` before the ladder escalates. Proxmox defaults to 1, vSphere to 3. */
  maxRestarts: [z.number().int().min(0).max(100), 3],
  windowMs: msField(600_000),
  /** The first restart is immediate; the n-th waits `backoffBaseMs × factor^(n−2)`, capped, with ± jitter. */
  backoffBaseMs: msField(10_000),
  backoffFactor: [z.number().min(1).max(10), 3],
  backoffMaxMs: msField(300_000),
  backoffJitter: [z.number().min(0).max(0.5), 0.2],
  /** How long a graceful shutdown may take before destroy, when a hung VM is restarted. */
  gracefulTimeoutMs: msField(30_000),
  /** A VM that stays up this long after a restart is healthy again: its revert marker clears. */
  stableAfterMs: msField(300_000),
} as const satisfies Fields;

const IO_ERROR = {
  /** A VM paused on an I/O error: resume it, leave it paused, or kill it after `killAfterMs` (so it restarts, as VDSM does). */
  action: [z.enum(['resume', 'leave-paused', 'kill']), 'leave-paused'],
  killAfterMs: msField(80_000),
  /** `resume`: resumes allowed within the restart window before it is left paused. */
  maxResumes: [z.number().int().min(0).max(100), 3],
} as const satisfies Fields;

const GUEST_AGENT = {
  /** Ping qemu-guest-agent when the domain has its channel. */
  enabled: [z.boolean(), true],
  intervalMs: [z.number().int().min(1000), 10_000],
  /** Consecutive missed pings that make a failure (Masakari: 3). */
  misses: [z.number().int().min(1).max(100), 3],
  /** The agent's own wait for one ping, in seconds (libvirt's agent timeout). */
  timeoutSec: [z.number().int().min(1).max(60), 2],
} as const satisfies Fields;

const SNAPSHOTS = {
  enabled: [z.boolean(), false],
  intervalMs: [z.number().int().min(10_000), 3_600_000],
  /** virt-ft's own snapshots kept per VM; older ones are pruned (never the last known-good). */
  retain: [z.number().int().min(1).max(100), 3],
  /** Include guest memory (the VM pauses for it; a revert resumes where it was). */
  memory: [z.boolean(), true],
  /** A snapshot becomes known-good once the VM has stayed healthy this long after it. */
  knownGoodAfterMs: msField(600_000),
} as const satisfies Fields;

const CHECKPOINTS = {
  enabled: [z.boolean(), false],
  intervalMs: [z.number().int().min(10_000), 900_000],
  retain: [z.number().int().min(1).max(100), 4],
} as const satisfies Fields;

export const RestartPolicySchema = full(RESTART);
export const IoErrorPolicySchema = full(IO_ERROR);
export const GuestAgentPolicySchema = full(GUEST_AGENT);
export const SnapshotPolicySchema = full(SNAPSHOTS);
export const CheckpointPolicySchema = full(CHECKPOINTS);

export const PolicySchema = z.strictObject({
  level: PolicyLevel.default('low'),
  /** Run the policy, record its decisions, take no action. */
  shadow: z.boolean().default(false),
  restart: RestartPolicySchema.prefault({}),
  ioError: IoErrorPolicySchema.prefault({}),
  guestAgent: GuestAgentPolicySchema.prefault({}),
  /** Treat a WATCHDOG event as a failure (the VM is restarted by the ladder). */
  watchdogIsFailure: z.boolean().default(true),
  snapshots: SnapshotPolicySchema.prefault({}),
  checkpoints: CheckpointPolicySchema.prefault({}),
  /** After `maxRestarts`, revert to the last known-good snapshot once before quarantine. */
  revertToKnownGood: z.boolean().default(true),
});
export type Policy = z.infer<typeof PolicySchema>;

/** A partial policy (config defaults, per-domain overrides, metadata): every key optional, no defaults. */
export const PolicyOverrideSchema = z.strictObject({
  level: PolicyLevel.optional(),
  shadow: z.boolean().optional(),
  restart: partial(RESTART).optional(),
  ioError: partial(IO_ERROR).optional(),
  guestAgent: partial(GUEST_AGENT).optional(),
  watchdogIsFailure: z.boolean().optional(),
  snapshots: partial(SNAPSHOTS).optional(),
  checkpoints: partial(CHECKPOINTS).optional(),
  revertToKnownGood: z.boolean().optional(),
});
export type PolicyOverride = z.infer<typeof PolicyOverrideSchema>;

/** What each level turns on before any override. */
export const LEVEL_PRESETS: Readonly<Record<PolicyLevel, PolicyOverride>> = {
  off: { snapshots: { enabled: false }, checkpoints: { enabled: false }, revertToKnownGood: false },
  low: { snapshots: { enabled: false }, checkpoints: { enabled: false }, revertToKnownGood: false },
  high: { snapshots: { enabled: true }, checkpoints: { enabled: true }, revertToKnownGood: true },
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isObj(cur) && isObj(v) ? merge(cur, v) : v;
  }
  return out;
}

/**
 * The effective policy: the level's preset, then each override in order (later wins). The
 * level is taken from the last override that sets one, so a VM's metadata can raise it.
 */
export function resolvePolicy(
  ...overrides: readonly (PolicyOverride | null | undefined)[]
): Policy {
  let level: PolicyLevel = 'low';
  for (const o of overrides) if (o?.level) level = o.level;
  let acc: Obj = merge({ level }, LEVEL_PRESETS[level]);
  for (const o of overrides) if (o) acc = merge(acc, o);
  acc['level'] = level;
  return PolicySchema.parse(acc);
}
