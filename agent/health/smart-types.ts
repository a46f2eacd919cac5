/**
 * One model for ATA, NVMe and SCSI disks. Every attribute is optional: absent means the disk
 * (or smartctl) did not report it, which is different from zero.
 */
import type { Count } from './json-access.ts';
import type { SmartctlExit } from './smart-exit.ts';

/** `ATA` covers SATA and PATA (also behind SAT and USB bridges); SAS is `SCSI`. */
export type SmartProtocol = 'ATA' | 'NVMe' | 'SCSI' | 'unknown';

/** What identifies a disk. `key` follows the disk when its path changes (WWN, else serial). */
export interface SmartIdentity {
  /** `wwn:…`, `serial:<model>:<serial>`, or `path:<device>[#type]` when neither is known. */
  readonly key: string;
  /** Device path as smartctl named it, e.g. `/dev/sda`, `/dev/nvme0`, `/dev/bus/6`. */
  readonly device: string;
  /** smartctl device type, e.g. `sat`, `nvme`, `megaraid,8`, `sat+megaraid,8`. */
  readonly type?: string;
  readonly protocol: SmartProtocol;
  readonly model?: string;
  readonly family?: string;
  readonly serial?: string;
  /** NAA WWN as 16 hex digits (`5000cca…`), an NVMe EUI-64 (`eui.…`) or a SCSI LU id. */
  readonly wwn?: string;
  readonly firmware?: string;
  readonly capacityBytes?: Count;
}

/** The normalized attributes the risk model reads (and the report prints). */
export interface SmartAttributes {
  smartPassed?: boolean;
  temperatureC?: number;
  powerOnHours?: Count;
  /** ATA 5 Reallocated_Sector_Ct, raw. */
  reallocatedSectors?: Count;
  /** ATA 197 Current_Pending_Sector, raw. */
  pendingSectors?: Count;
  /** ATA 198 Offline_Uncorrectable, raw. */
  offlineUncorrectable?: Count;
  /** ATA 187 Reported_Uncorrect, raw. */
  reportedUncorrect?: Count;
  /** ATA 188 Command_Timeout, decoded when Seagate packs three counters into the raw value. */
  commandTimeouts?: Count;
  /** ATA 199 UDMA_CRC_Error_Count, raw (cable/backplane, not media). */
  crcErrors?: Count;
  /** ATA error log entries (`ata_smart_error_log.*.count`). */
  ataErrorLogCount?: number;
  /** NVMe critical warning byte. */
  nvmeCriticalWarning?: number;
  mediaErrors?: Count;
  percentageUsed?: number;
  availableSpare?: number;
  availableSpareThreshold?: number;
  nvmeErrorLogEntries?: Count;
  unsafeShutdowns?: Count;
  /** SCSI grown defect list length. */
  scsiGrownDefects?: Count;
  /** SCSI read + write + verify `total_uncorrected_errors`. */
  scsiUncorrectedErrors?: Count;
}

/** An ATA attribute table row as smartctl reports it, with a decoded raw value where needed. */
export interface AtaAttribute {
  readonly id: number;
  readonly name: string;
  readonly value?: number;
  readonly worst?: number;
  readonly thresh?: number;
  /** `now`: at/below threshold now; `past`: was at/below threshold; `` otherwise. */
  readonly whenFailed: '' | 'now' | 'past';
  readonly prefailure: boolean;
  readonly raw?: Count;
  readonly rawString?: string;
  /** The error count hidden in a vendor-packed raw value (Seagate 1/7/188/195). */
  readonly decoded?: Count;
  readonly decodedHow?: string;
}

/**
 * What one smartctl run (or capture) said about one device:
 * - `ok`: SMART data was read;
 * - `standby`: the disk was asleep and was not woken (`--nocheck=standby`);
 * - `unsupported`: the device answered but has no SMART data (RAID volume, SMART off);
 * - `error`: smartctl could not read the device (see `messages` and `exit`).
 */
export interface SmartReading {
  /** Where the reading came from: a device path or a capture file. */
  readonly source: string;
  readonly state: 'ok' | 'standby' | 'unsupported' | 'error';
  readonly identity: SmartIdentity;
  readonly exit: SmartctlExit;
  readonly messages: readonly { readonly text: string; readonly severity: string }[];
  readonly attributes: SmartAttributes;
  readonly ataAttributes: readonly AtaAttribute[];
  readonly smartctlVersion?: string;
  /** The device as it was asked for (live runs): the key of its last reading in the history. */
  readonly requested?: { readonly name: string; readonly type?: string };
  /** Why there is no smartctl document at all: it hung, crashed or printed garbage. */
  readonly failure?: SmartFailure;
}

/** A smartctl run that produced no usable document. */
export interface SmartFailure {
  readonly code: 'timeout' | 'bad-output' | 'killed' | 'not-run' | 'scan-output';
  readonly message: string;
}
