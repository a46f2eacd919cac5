/**
 * The `health` configuration slice: one zod schema gives the type, the defaults and the
 * validation (style guide §2.4). agent/config/schema.ts can embed `HealthConfigSchema` as its
 * `health` key; `HealthConfigSchema.parse({})` gives every default.
 */
import { z } from 'zod';

import {
  DEFAULT_DISK_THRESHOLDS,
  DEFAULT_FAILURE_PROBABILITIES,
  DEFAULT_MEMORY_THRESHOLDS,
  type DiskThresholds,
  type FailureProbabilities,
  type MemoryThresholds,
} from './thresholds.ts';

const level = (d: { warnAt: number; failAt: number | null }) =>
  z
    .strictObject({ warnAt: z.number().nonnegative(), failAt: z.number().nonnegative().nullable() })
    .default(d);
const probability = (d: number) => z.number().min(0).max(1).default(d);
const D = DEFAULT_DISK_THRESHOLDS;
const P = DEFAULT_FAILURE_PROBABILITIES;

/** Schema of the health slice; see thresholds.ts for what each number means and its source. */
export const HealthConfigSchema = z.strictObject({
  /** sysfs root for EDAC (`devices/system/edac`) and block devices (`class/block`). */
  sysfsRoot: z.string().default('/sys'),
  /** procfs root for `self/mountinfo`. */
  procRoot: z.string().default('/proc'),
  /** Directory of the history file; `null` keeps history in memory. */
  stateDir: z.string().nullable().default('/var/lib/virt-ft'),
  smartctlPath: z.string().default('/usr/sbin/smartctl'),
  smartctlTimeoutMs: z.number().int().min(1000).default(30_000),
  smartConcurrency: z.number().int().min(1).max(8).default(2),
  smartMinIntervalMs: z.number().int().min(60_000).default(3_600_000),
  /** Devices the scan never lists (HP Smart Array `cciss,N`), e.g. `{ name: '/dev/sda', type: 'cciss,0' }`. */
  smartExtraDevices: z
    .array(z.strictObject({ name: z.string().min(1), type: z.string().min(1).exactOptional() }))
    .default([]),
  thresholds: z
    .strictObject({
      memory: z
        .strictObject({
          cePer24hWarn: z.number().int().positive().default(DEFAULT_MEMORY_THRESHOLDS.cePer24hWarn),
          ueFail: z.number().int().positive().default(DEFAULT_MEMORY_THRESHOLDS.ueFail),
        })
        .prefault({}),
      disk: z
        .strictObject({
          reallocatedSectors: level(D.reallocatedSectors),
          reportedUncorrect: level(D.reportedUncorrect),
          commandTimeouts: level(D.commandTimeouts),
          pendingSectors: level(D.pendingSectors),
          offlineUncorrectable: level(D.offlineUncorrectable),
          crcErrors: level(D.crcErrors),
          mediaErrors: level(D.mediaErrors),
          percentageUsed: level(D.percentageUsed),
          scsiGrownDefects: level(D.scsiGrownDefects),
          scsiUncorrectedErrors: level(D.scsiUncorrectedErrors),
          nvmeCriticalWarningWarnMask: z
            .number()
            .int()
            .min(0)
            .max(255)
            .default(D.nvmeCriticalWarningWarnMask),
        })
        .prefault({}),
      failureProbability: z
        .strictObject({
          healthy: probability(P.healthy),
          warning: probability(P.warning),
          failing: probability(P.failing),
          unknown: probability(P.unknown),
        })
        .prefault({}),
    })
    .prefault({}),
});

/** The validated health configuration. */
export type HealthConfig = z.infer<typeof HealthConfigSchema>;

/** Compile-time check that the schema's thresholds are the model's types. */
export function thresholdsOf(config: HealthConfig): {
  memory: MemoryThresholds;
  disk: DiskThresholds;
  failureProbability: FailureProbabilities;
} {
  return config.thresholds;
}
