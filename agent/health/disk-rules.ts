/**
 * The disk rule table: which normalized attribute is held against which threshold, the stable
 * reason code it produces, and the one-line why (its source is in thresholds.ts). Also the
 * NVMe critical-warning bits and the exit-status findings.
 */
import type { ReasonLevel } from './risk.ts';
import type { SmartctlExitBitName } from './smart-exit.ts';
import type { SmartAttributes } from './smart-types.ts';
import type { DiskThresholds } from './thresholds.ts';

/** NVMe SMART log byte 0, bit by bit (NVMe base specification, "Critical Warning"). */
export const NVME_CRITICAL_WARNING_BITS: readonly (readonly [number, string, string])[] = [
  [0x01, 'spare_below_threshold', 'available spare is below its threshold'],
  [0x02, 'temperature', 'temperature is above or below its threshold'],
  [0x04, 'reliability_degraded', 'NVM subsystem reliability is degraded'],
  [0x08, 'media_read_only', 'media is in read-only mode'],
  [0x10, 'volatile_memory_backup_failed', 'volatile memory backup device failed'],
  [0x20, 'persistent_memory_region_unreliable', 'persistent memory region is unreliable'],
];

/** One attribute rule. */
export interface Rule {
  readonly key: keyof SmartAttributes & keyof DiskThresholds;
  readonly code: string;
  readonly label: string;
  readonly why: string;
}

/** The attribute rules, in report order. */
export const RULES: readonly Rule[] = [
  {
    key: 'reallocatedSectors',
    code: 'reallocated-sectors',
    label: 'Reallocated_Sector_Ct (5)',
    why: 'Backblaze: investigate at > 0; AFR 23.6 %/yr from 17',
  },
  {
    key: 'reportedUncorrect',
    code: 'reported-uncorrect',
    label: 'Reported_Uncorrect (187)',
    why: 'Backblaze AFR 33.9 %/yr at 1',
  },
  {
    key: 'commandTimeouts',
    code: 'command-timeouts',
    label: 'Command_Timeout (188)',
    why: 'Backblaze: investigate at > 0; AFR 10 %/yr above 100',
  },
  {
    key: 'pendingSectors',
    code: 'pending-sectors',
    label: 'Current_Pending_Sector (197)',
    why: 'Backblaze AFR 34.2 %/yr from 2',
  },
  {
    key: 'offlineUncorrectable',
    code: 'offline-uncorrectable',
    label: 'Offline_Uncorrectable (198)',
    why: 'Backblaze AFR 81.4 %/yr from 1',
  },
  {
    key: 'crcErrors',
    code: 'crc-errors',
    label: 'UDMA_CRC_Error_Count (199)',
    why: 'interface CRC errors: check the cable and backplane',
  },
  {
    key: 'mediaErrors',
    code: 'media-errors',
    label: 'NVMe media_errors',
    why: 'unrecovered data-integrity errors',
  },
  {
    key: 'percentageUsed',
    code: 'percentage-used',
    label: 'NVMe percentage_used',
    why: 'rated endurance used',
  },
  {
    key: 'scsiGrownDefects',
    code: 'grown-defects',
    label: 'SCSI grown defect list',
    why: 'remapped sectors, judged like ATA 5',
  },
  {
    key: 'scsiUncorrectedErrors',
    code: 'scsi-uncorrected-errors',
    label: 'SCSI total uncorrected errors',
    why: 'unrecovered read/write/verify errors',
  },
];

/** Exit-status bits that are findings about the disk, and how much each weighs. */
export const EXIT_RULES: readonly (readonly [SmartctlExitBitName, ReasonLevel, string])[] = [
  ['PREFAIL_AT_THRESHOLD', 'failing', 'exit-prefail-threshold'],
  ['THRESHOLD_IN_PAST', 'warning', 'exit-threshold-in-past'],
  ['SELF_TEST_ERRORS', 'warning', 'exit-self-test-errors'],
  ['ERROR_LOG', 'info', 'exit-error-log'],
  ['SMART_COMMAND_FAILED', 'info', 'exit-smart-command-failed'],
];
