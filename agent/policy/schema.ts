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

const ms = (d: number) => z.number().int().nonnegative().default(d);

export const RestartPolicySchema = z.strictObject({
  /** `on-failure`: a guest's own shutdown and an admin's destroy are left alone. `always`: the VM must always run. */
  strategy: z.enum(['on-failure', 'always']).default('on-failure'),
  /** Automatic restarts allowed within `windowMs` before the ladder escalates. Proxmox defaults to 1, vSphere to 3. */
  maxRestarts: z.number().int().min(0).max(100).default(3),
  windowMs: ms(600_000),
  /** The first restart is immediate; the n-th waits `backoffBaseMs × factor^(n−1)`, capped, with ± jitter. */
  backoffBaseMs: ms(10_000),
  backoffFactor: z.number().min(1).max(10).default(3),
  backoffMaxMs: ms(300_000),
  backoffJitter: z.number().min(0).max(0.5).default(0.2),
  /** How long a graceful reboot or shutdown may take before reset or destroy. */
  gracefulTimeoutMs: ms(30_000),
  /** A VM that stays up this long after a restart is healthy again: its failure count resets. */
  stableAfterMs: ms(300_000),
});

export const IoErrorPolicySchema = z.strictObject({
  /** What to do with a VM paused on an I/O error: resume it, leave it paused, or kill it after `killAfterMs` (so it restarts, as VDSM does). */
  action: z.enum(['resume', 'leave-paused', 'kill']).default('leave-paused'),
  killAfterMs: ms(80_000),
  /** `resume`: how many resumes within the restart window before it is left paused. */
  maxResumes: z.number().int().min(0).max(100).default(3),
});

export const GuestAgentPolicySchema = z.strictObject({
  /** Ping qemu-guest-agent when the domain has its channel. */
  enabled: z.boolean().default(true),
  intervalMs: z.number().int().min(1000).default(10_000),
  /** Consecutive missed pings that make a failure (Masakari: 3). */
  misses: z.number().int().min(1).max(100).default(3),
  /** The agent's own wait for one ping, in seconds (libvirt's agent timeout). */
  timeoutSec: z.number().int().min(1).max(60).default(2),
});

export const SnapshotPolicySchema = z.strictObject({
  enabled: z.boolean().default(false),
  intervalMs: z.number().int().min(10_000).default(3_600_000),
  /** virt-ft's own snapshots kept per VM; older ones are pruned. Known-good ones count. */
  retain: z.number().int().min(1).max(100).default(3),
  /** Include guest memory (a paused VM for the duration; a revert resumes where it was). */
  memory: z.boolean().default(true),
  /** A snapshot becomes known-good once the VM has stayed healthy this long after it. */
  knownGoodAfterMs: ms(600_000),
});

export const CheckpointPolicySchema = z.strictObject({
  enabled: z.boolean().default(false),
  intervalMs: z.number().int().min(10_000).default(900_000),
  retain: z.number().int().min(1).max(100).default(4),
});

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

/** A partial policy (config defaults, per-domain overrides, metadata): every key optional. */
export const PolicyOverrideSchema = z.strictObject({
  level: PolicyLevel.optional(),
  shadow: z.boolean().optional(),
  restart: RestartPolicySchema.partial().optional(),
  ioError: IoErrorPolicySchema.partial().optional(),
  guestAgent: GuestAgentPolicySchema.partial().optional(),
  watchdogIsFailure: z.boolean().optional(),
  snapshots: SnapshotPolicySchema.partial().optional(),
  checkpoints: CheckpointPolicySchema.partial().optional(),
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
