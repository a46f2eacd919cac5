/**
 * The block-device graph under an injectable sysfs root: device numbers, partitions and their
 * parent disks (`/sys/class/block/X/partition` and the parent directory), device-mapper and md
 * members (`slaves/`, `holders/`), and which devices are virtual (loop, zram, dm, md).
 * Tests point `sysRoot` at a fixture tree; on a host it is `/sys`.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One entry of /sys/class/block. */
export interface BlockDevice {
  readonly name: string;
  /** `major:minor`, when readable. */
  readonly dev?: string;
  readonly partition: boolean;
  /** The whole disk a partition belongs to. */
  readonly parent?: string;
  /** Devices this one is built on (dm, md). */
  readonly slaves: readonly string[];
  /** Devices built on this one. */
  readonly holders: readonly string[];
  /** device-mapper name (`vg-lv`), for dm devices. */
  readonly dmName?: string;
  /** Lives under /sys/devices/virtual (loop, zram, dm-*, md*). */
  readonly virtual: boolean;
}

/** Where a block device's data physically lives. */
export interface PhysicalResolution {
  /** Physical disks, e.g. `['sda', 'sdb']` for an md mirror. */
  readonly disks: readonly string[];
  /** The walk, e.g. `['dm-0', 'md0', 'sda1', 'sda']`. */
  readonly path: readonly string[];
  /** Leaves that are virtual with no members (a loop device, zram). */
  readonly virtualLeaves: readonly string[];
}

/** A snapshot of the block-device graph. */
export class BlockTopology {
  readonly #devices: ReadonlyMap<string, BlockDevice>;

  constructor(devices: readonly BlockDevice[]) {
    this.#devices = new Map(devices.map((d) => [d.name, d]));
  }

  /** Reads `${sysRoot}/class/block/*`; a missing directory gives an empty graph. */
  static async load(sysRoot: string): Promise<BlockTopology> {
    const classDir = join(sysRoot, 'class', 'block');
    const names = await entries(classDir);
    const devices: BlockDevice[] = [];
    for (const name of names.sort()) {
      const dir = join(classDir, name);
      const real = await realpath(dir).catch(() => dir);
      const partition = (await readText(join(dir, 'partition'))) !== undefined;
      const parentName = basename(dirname(real));
      const dev = await readText(join(dir, 'dev'));
      const dmName = await readText(join(dir, 'dm', 'name'));
      devices.push({
        name,
        partition,
        ...(dev === undefined ? {} : { dev }),
        ...(partition && parentName !== 'block' ? { parent: parentName } : {}),
        ...(dmName === undefined ? {} : { dmName }),
        slaves: await entries(join(dir, 'slaves')),
        holders: await entries(join(dir, 'holders')),
        virtual: real.includes('/devices/virtual/'),
      });
    }
    return new BlockTopology(devices);
  }

  /** Every device, sorted by name. */
  get devices(): BlockDevice[] {
    return [...this.#devices.values()];
  }

  get(name: string): BlockDevice | undefined {
    return this.#devices.get(name);
  }

  /** The device with number `majMin` (e.g. `254:0`). */
  byDev(majMin: string): BlockDevice | undefined {
    for (const d of this.#devices.values()) if (d.dev === majMin) return d;
    return undefined;
  }

  /** The dm device named `dmName` (as in /dev/mapper/NAME). */
  byDmName(dmName: string): BlockDevice | undefined {
    for (const d of this.#devices.values()) if (d.dmName === dmName) return d;
    return undefined;
  }

  /** Whole, non-virtual disks with no members: what SMART can be asked about. */
  physicalDisks(): BlockDevice[] {
    return this.devices.filter((d) => !d.partition && !d.virtual && d.slaves.length === 0);
  }

  /** Follows partitions to their disk and dm/md devices to their members, down to disks. */
  resolve(name: string): PhysicalResolution {
    const disks = new Set<string>();
    const path: string[] = [];
    const virtualLeaves: string[] = [];
    const walk = (n: string, depth: number): void => {
      if (depth > 16 || path.includes(n)) return;
      path.push(n);
      const d = this.#devices.get(n);
      if (d === undefined) return;
      if (d.partition && d.parent !== undefined) {
        walk(d.parent, depth + 1);
      } else if (d.slaves.length > 0) {
        for (const s of d.slaves) walk(s, depth + 1);
      } else if (d.virtual) {
        virtualLeaves.push(n);
      } else {
        disks.add(n);
      }
    };
    walk(name, 0);
    return { disks: [...disks].sort(), path, virtualLeaves };
  }
}

/** Directory entries, without dotfiles (sysfs has none; fixture trees keep empty dirs with one). */
async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).filter((n) => !n.startsWith('.'));
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * Block-device names a SMART device path stands for: `/dev/sda` → `sda`; the NVMe controller
 * `/dev/nvme0` → its namespaces `nvme0n1`, …; `/dev/bus/N` (MegaRAID) → none, because disks
 * behind a RAID controller have no block device of their own.
 */
export function blockNamesForSmartDevice(device: string, topology: BlockTopology): string[] {
  const name = basename(device);
  const ctrl = /^nvme(\d+)$/.exec(name);
  if (ctrl !== null) {
    const re = new RegExp(`^nvme${ctrl[1] ?? ''}n\\d+$`);
    return topology.devices.filter((d) => re.test(d.name)).map((d) => d.name);
  }
  return device.startsWith('/dev/') && !device.startsWith('/dev/bus/') ? [name] : [];
}
