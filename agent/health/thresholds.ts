/**
 * Every number the risk model uses, with its source. All are configurable (see config.ts);
 * docs/adr/0006-health-risk-model.md explains the choices.
 *
 * ATA buckets: Backblaze drive-stats AFRs as tabulated in Scrutiny's
 * `thresholds/ata_attribute_metadata.go` (AnalogJ/scrutiny 89588a4f), from Backblaze's
 * "Hard Drive SMART Stats" (2014) and "What SMART Stats Tell Us About Hard Drives" (2016).
 * Rule: a raw value > 0 on one of Backblaze's five (5, 187, 188, 197, 198) is a warning —
 * Backblaze: "a reason to investigate"; a value whose bucket AFR is ≥ 10 %/yr is failing —
 * Scrutiny's critical-attribute rule, about 6× the 1.57 % fleet AFR (Backblaze 2024).
 */

/** Raw value at which an attribute warns and at which it fails (`null`: never fails). */
export interface LevelThreshold {
  readonly warnAt: number;
  readonly failAt: number | null;
}

/** Disk thresholds; see the per-field sources. */
export interface DiskThresholds {
  /** ATA 5. 1–4: AFR 2.7 %; 5–16: 7.5 %; 17–70: 23.6 % → fail at 17. */
  readonly reallocatedSectors: LevelThreshold;
  /** ATA 187. 1: AFR 33.9 % → fail at 1. */
  readonly reportedUncorrect: LevelThreshold;
  /** ATA 188 (decoded). 1–100: AFR 2.49 %; > 100: 10.0 % → fail at 101. */
  readonly commandTimeouts: LevelThreshold;
  /** ATA 197. 1: no bucket (Scrutiny warns); 2: AFR 34.2 % → fail at 2. */
  readonly pendingSectors: LevelThreshold;
  /** ATA 198. 1–2: AFR 81.4 % → fail at 1. */
  readonly offlineUncorrectable: LevelThreshold;
  /**
   * ATA 199 CRC. 2: AFR 15.1 %, but Google FAST'07 ties CRC errors to cables and connectors,
   * so it warns ("check the cable") and never fails the disk on its own.
   */
  readonly crcErrors: LevelThreshold;
  /** NVMe media_errors > 0 fails (Scrutiny; smartd 7.5 `-f` on increase). */
  readonly mediaErrors: LevelThreshold;
  /** NVMe percentage_used: warn > 95 ⇒ at 96 (smartd 7.5 `-f`), fail at 100 (health.md rule). */
  readonly percentageUsed: LevelThreshold;
  /** SCSI grown defects: no field study; same levels as ATA 5 (both count remapped sectors). */
  readonly scsiGrownDefects: LevelThreshold;
  /** SCSI total uncorrected read/write/verify errors > 0 fails (as ATA 187 and NVMe media errors). */
  readonly scsiUncorrectedErrors: LevelThreshold;
  /**
   * NVMe critical_warning bits that only warn; all other set bits fail. Default 0x02: the
   * temperature bit reports the environment, not wear (NVMe base spec, SMART log byte 0).
   */
  readonly nvmeCriticalWarningWarnMask: number;
}

/** Memory (EDAC) thresholds. */
export interface MemoryThresholds {
  /**
   * Corrected errors per DIMM in 24 h at which the DIMM warns: rasdaemon's page soft-offline
   * threshold PAGE_CE_THRESHOLD=50 per PAGE_CE_REFRESH_CYCLE=24h. CEs predict more CEs
   * (13×–90× in the same month, Schroeder et al., SIGMETRICS'09 / CACM'11).
   */
  readonly cePer24hWarn: number;
  /** Uncorrected errors at which a DIMM fails: any (an uncorrected error is data loss). */
  readonly ueFail: number;
}

/**
 * Annual failure probability pᵢ per disk verdict, for P = 1 − Π(1 − pᵢ). AFR λ is turned into
 * a probability with p = 1 − e^(−λ).
 */
export interface FailureProbabilities {
  /** λ = 1.57 %/yr, Backblaze's 2024 fleet AFR (328k drives): p = 0.0156. */
  readonly healthy: number;
  /** λ = 10 %/yr, the top of the warning band (warnings sit below the 10 % fail line). */
  readonly warning: number;
  /** λ = 1.0/yr, about the median AFR of the failing Backblaze buckets (5, 187, 197, 198). */
  readonly failing: number;
  /** Nothing known: the fleet prior, like a healthy disk. */
  readonly unknown: number;
}

/** Defaults for {@link DiskThresholds}. */
export const DEFAULT_DISK_THRESHOLDS: DiskThresholds = {
  reallocatedSectors: { warnAt: 1, failAt: 17 },
  reportedUncorrect: { warnAt: 1, failAt: 1 },
  commandTimeouts: { warnAt: 1, failAt: 101 },
  pendingSectors: { warnAt: 1, failAt: 2 },
  offlineUncorrectable: { warnAt: 1, failAt: 1 },
  crcErrors: { warnAt: 2, failAt: null },
  mediaErrors: { warnAt: 1, failAt: 1 },
  percentageUsed: { warnAt: 96, failAt: 100 },
  scsiGrownDefects: { warnAt: 1, failAt: 17 },
  scsiUncorrectedErrors: { warnAt: 1, failAt: 1 },
  nvmeCriticalWarningWarnMask: 0x02,
};

/** Defaults for {@link MemoryThresholds}. */
export const DEFAULT_MEMORY_THRESHOLDS: MemoryThresholds = { cePer24hWarn: 50, ueFail: 1 };

/** Defaults for {@link FailureProbabilities}. */
export const DEFAULT_FAILURE_PROBABILITIES: FailureProbabilities = {
  healthy: 0.0156,
  warning: 0.0952,
  failing: 0.632,
  unknown: 0.0156,
};
