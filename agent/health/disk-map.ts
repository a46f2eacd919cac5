/**
 * Physical disk → VM disks on it. A function of (domains with their XML, procRoot, sysRoot),
 * so tests run it on fixture trees: domain XML disk source → file → filesystem (the mount in
 * `${procRoot}/self/mountinfo` holding it) → block device (by device number in
 * `${sysRoot}/class/block/*\/dev`, else the mount source) → device-mapper / md members and
 * partition parents → physical disks.
 */
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';

import { BlockTopology } from './block-topology.ts';
import { domainDisks, type DomainXml, type VmDiskSource } from './domain-disks.ts';
import { mountFor, parseMountinfo, type Mount } from './mountinfo.ts';

/** Inputs of {@link mapVmDisks}. */
export interface DiskMapInput {
  readonly domains: readonly DomainXml[];
  readonly procRoot: string;
  readonly sysRoot: string;
  /**
   * Resolves symlinks of a host path (image directories are often links). Default: none, so the
   * function depends only on the two trees; the CLI passes {@link realpathOfExisting}.
   */
  readonly realpath?: (path: string) => Promise<string>;
}

/** A VM disk (or a backing image of it) and how it was traced to a physical disk. */
export interface VmDiskRef {
  readonly domain: string;
  readonly uuid: string;
  readonly target: string | null;
  readonly source: string;
  readonly backingDepth: number;
  /** The walk, e.g. `['file /var/lib/…/a.qcow2', 'xfs on dm-0', 'dm-0', 'md0', 'sda2', 'sda']`. */
  readonly via: readonly string[];
}

/** The result: VM disks per physical disk, and the sources that could not be traced. */
export interface DiskMap {
  readonly byDisk: ReadonlyMap<string, readonly VmDiskRef[]>;
  readonly unresolved: readonly { readonly ref: VmDiskRef; readonly reason: string }[];
  readonly problems: readonly string[];
}

/** Builds the map; never throws for a source it can't trace (that goes to `unresolved`). */
export async function mapVmDisks(input: DiskMapInput): Promise<DiskMap> {
  const topology = await BlockTopology.load(input.sysRoot);
  const mountinfo = await readFile(join(input.procRoot, 'self', 'mountinfo'), 'utf8').catch(
    () => '',
  );
  const mounts = parseMountinfo(mountinfo);
  const byDisk = new Map<string, VmDiskRef[]>();
  const unresolved: { ref: VmDiskRef; reason: string }[] = [];
  const problems: string[] = [];
  for (const domain of input.domains) {
    const { sources, problems: p } = domainDisks(domain);
    problems.push(...p);
    for (const s of sources) {
      const traced = await trace(s, topology, mounts, input.realpath);
      const ref: VmDiskRef = {
        domain: s.domain,
        uuid: s.uuid,
        target: s.target,
        source: s.description,
        backingDepth: s.backingDepth,
        via: traced.via,
      };
      if ('reason' in traced) {
        unresolved.push({ ref, reason: traced.reason });
        continue;
      }
      for (const disk of traced.disks) byDisk.set(disk, [...(byDisk.get(disk) ?? []), ref]);
    }
  }
  if (mounts.length === 0)
    problems.push(`no mounts read from ${join(input.procRoot, 'self', 'mountinfo')}`);
  return { byDisk, unresolved, problems };
}

type Traced = { disks: readonly string[]; via: string[] } | { reason: string; via: string[] };

async function trace(
  s: VmDiskSource,
  topology: BlockTopology,
  mounts: readonly Mount[],
  resolve?: (p: string) => Promise<string>,
): Promise<Traced> {
  if (s.path === null) {
    const why =
      s.type === 'network'
        ? 'network storage, not on a local disk'
        : s.type === 'volume'
          ? 'storage-pool volume: its path is known only to libvirt'
          : `${s.type} source`;
    return { reason: why, via: [] };
  }
  if (s.type === 'block') return traceBlock(s.path, topology, [`block ${s.path}`], resolve);
  const path = resolve === undefined ? normalize(s.path) : await resolve(s.path);
  const via = [`${s.type} ${path}`];
  const mount = mountFor(mounts, path);
  if (mount === undefined) return { reason: 'no mount holds this path', via };
  via.push(`${mount.fsType} ${mount.mountPoint} (${mount.source}, ${mount.majMin})`);
  const dev = topology.byDev(mount.majMin);
  if (dev !== undefined) return down(dev.name, topology, via);
  if (mount.source.startsWith('/dev/')) return traceBlock(mount.source, topology, via, resolve);
  return {
    reason: `filesystem ${mount.fsType} from ${mount.source} is not on a local block device`,
    via,
  };
}

async function traceBlock(
  path: string,
  topology: BlockTopology,
  via: string[],
  resolve?: (p: string) => Promise<string>,
): Promise<Traced> {
  const name =
    blockName(path, topology) ??
    (resolve === undefined ? undefined : blockName(await resolve(path), topology));
  if (name === undefined) return { reason: `block device ${path} not found under sysfs`, via };
  return down(name, topology, via);
}

function down(name: string, topology: BlockTopology, via: string[]): Traced {
  const r = topology.resolve(name);
  const walk = [...via, ...r.path];
  if (r.disks.length === 0) {
    const leaves =
      r.virtualLeaves.length > 0 ? `virtual device ${r.virtualLeaves.join(', ')}` : name;
    return { reason: `${leaves} has no physical disk under it`, via: walk };
  }
  return { disks: r.disks, via: walk };
}

/** The sysfs name of a /dev path: `/dev/sda1`, `/dev/dm-0`, `/dev/mapper/NAME`, `/dev/VG/LV`. */
export function blockName(path: string, topology: BlockTopology): string | undefined {
  const p = normalize(path);
  const mapper = /^\/dev\/mapper\/(.+)$/.exec(p);
  if (mapper !== null) return topology.byDmName(mapper[1] ?? '')?.name;
  const direct = /^\/dev\/([^/]+)$/.exec(p);
  if (direct !== null && topology.get(direct[1] ?? '') !== undefined) return direct[1];
  const lvm = /^\/dev\/([^/]+)\/([^/]+)$/.exec(p);
  if (lvm !== null && !p.startsWith('/dev/disk/')) {
    // device-mapper names an LV VG-LV with every '-' inside VG and LV doubled.
    const dm = `${(lvm[1] ?? '').replace(/-/g, '--')}-${(lvm[2] ?? '').replace(/-/g, '--')}`;
    return topology.byDmName(dm)?.name;
  }
  return undefined;
}

/** realpath of the longest existing prefix of `path`, plus the rest; the path itself on failure. */
export async function realpathOfExisting(path: string): Promise<string> {
  const p = normalize(path);
  try {
    return await realpath(p);
  } catch {
    const parent = dirname(p);
    if (parent === p) return p;
    return join(await realpathOfExisting(parent), basename(p));
  }
}
