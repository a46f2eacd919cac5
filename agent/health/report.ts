/**
 * The health report: `{ memory, disks, host }`, the JSON `virt-ft health --json` prints and the
 * agent streams. Pure assembly from readings, verdicts and the VM map.
 */
import type { DiskMap } from './disk-map.ts';
import type { HostReport } from './host-risk.ts';
import type { MemoryReport } from './memory.ts';
import type { Reason, Risk } from './risk.ts';
import type { SmartctlExitBitName } from './smart-exit.ts';
import type { SmartAttributes, SmartReading } from './smart-types.ts';

/** A VM disk on a physical disk. */
export interface VmOnDisk {
  readonly domain: string;
  readonly uuid: string;
  readonly target: string | null;
  readonly source: string;
  /** 0 for the image the VM writes to, n for the n-th backing image. */
  readonly backingDepth: number;
}

/** One disk in the report. */
export interface DiskReport {
  /** Where the reading came from: the device (`/dev/bus/6 [megaraid,8]`) or a capture file. */
  readonly source: string;
  readonly device: string;
  readonly type: string | null;
  readonly protocol: string;
  readonly model: string | null;
  readonly serial: string | null;
  /** WWN/serial-based identity (`wwn:5000cca…`), stable when the path changes. */
  readonly key: string;
  readonly state: SmartReading['state'];
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
  readonly attributes: SmartAttributes;
  readonly smartctl: {
    readonly exitStatus: number | null;
    readonly exitBits: readonly SmartctlExitBitName[];
    readonly messages: readonly string[];
  };
  /** VM disks stored on this disk (empty when unknown; see host reasons). */
  readonly vms: readonly VmOnDisk[];
}

/** The whole report. */
export interface HealthReport {
  readonly memory: MemoryReport;
  readonly disks: readonly DiskReport[];
  readonly host: HostReport;
}

/** A disk entry from a reading, its verdict and the VM disks on the block devices it backs. */
export function diskReport(
  reading: SmartReading,
  verdict: { risk: Risk; reasons: readonly Reason[] },
  vms: readonly VmOnDisk[],
): DiskReport {
  const id = reading.identity;
  return {
    source: reading.source,
    device: id.device,
    type: id.type ?? null,
    protocol: id.protocol,
    model: id.model ?? null,
    serial: id.serial ?? null,
    key: id.key,
    state: reading.state,
    risk: verdict.risk,
    reasons: verdict.reasons,
    attributes: reading.attributes,
    smartctl: {
      exitStatus: reading.exit.status >= 0 ? reading.exit.status : null,
      exitBits: reading.exit.bits,
      messages: reading.messages.map((m) => `${m.severity}: ${m.text}`),
    },
    vms,
  };
}

/** The VM disks on any of `blockNames` (deduplicated). */
export function vmsOn(map: DiskMap | null, blockNames: readonly string[]): VmOnDisk[] {
  if (map === null) return [];
  const seen = new Set<string>();
  const out: VmOnDisk[] = [];
  for (const name of blockNames) {
    for (const r of map.byDisk.get(name) ?? []) {
      const k = `${r.uuid}/${r.target ?? ''}/${r.backingDepth}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({
        domain: r.domain,
        uuid: r.uuid,
        target: r.target,
        source: r.source,
        backingDepth: r.backingDepth,
      });
    }
  }
  return out;
}

/** A short human name for a disk: device plus model and serial when known. */
export function diskLabel(d: DiskReport): string {
  const parts = [d.model, d.serial === null ? null : `serial ${d.serial}`].filter(
    (x) => x !== null,
  );
  const where = d.type !== null && d.type.includes(',') ? `${d.device} [${d.type}]` : d.device;
  return parts.length === 0 ? where : `${where} (${parts.join(', ')})`;
}
