/**
 * Pure: a domain's XML → the storage its disks use. `<disk type='file'>` names a file,
 * `type='block'` a block device, `type='volume'` a storage-pool volume (its path is known only
 * to libvirt's storage driver), `type='network'` remote storage. Backing chains
 * (`<backingStore>`) are followed: a base image on another disk puts the VM at risk too.
 */
import {
  attr,
  childElements,
  findPath,
  firstChild,
  parseXml,
  type XmlElement,
} from '../xml/index.ts';

/** A domain as the libvirt client lists it. */
export interface DomainXml {
  readonly name: string;
  readonly uuid: string;
  readonly xml: string;
}

/** One storage source of one VM disk. */
export interface VmDiskSource {
  readonly domain: string;
  readonly uuid: string;
  /** Guest target, e.g. `vda`. */
  readonly target: string | null;
  /** `disk`, `cdrom`, `floppy`, `lun`. */
  readonly device: string;
  readonly type: string;
  /** File or block-device path, when the source has one. */
  readonly path: string | null;
  /** How the source is named when it has no path (`pool default volume x.qcow2`, `rbd pool/img`). */
  readonly description: string;
  /** Depth in the backing chain: 0 is the top image. */
  readonly backingDepth: number;
}

/** Sources of every disk of a domain; XML that does not parse becomes a problem line. */
export function domainDisks(domain: DomainXml): { sources: VmDiskSource[]; problems: string[] } {
  let root: XmlElement;
  try {
    root = parseXml(domain.xml).root;
  } catch (err) {
    return {
      sources: [],
      problems: [`domain ${domain.name}: ${err instanceof Error ? err.message : String(err)}`],
    };
  }
  const devices = findPath(root, 'devices');
  const sources: VmDiskSource[] = [];
  for (const disk of devices === null ? [] : childElements(devices, 'disk')) {
    const target = attr(firstChild(disk, 'target') ?? disk, 'dev') ?? null;
    const device = attr(disk, 'device') ?? 'disk';
    let node: XmlElement | null = disk;
    for (let depth = 0; node !== null && depth < 32; depth++) {
      const s = sourceOf(node);
      if (s === null) break;
      sources.push({
        domain: domain.name,
        uuid: domain.uuid,
        target,
        device,
        backingDepth: depth,
        ...s,
      });
      node = firstChild(node, 'backingStore');
    }
  }
  return { sources, problems: [] };
}

function sourceOf(
  el: XmlElement,
): { type: string; path: string | null; description: string } | null {
  const type = attr(el, 'type') ?? 'file';
  const src = firstChild(el, 'source');
  if (src === null) return null; // an empty CD-ROM drive, or the end of a backing chain
  switch (type) {
    case 'file':
    case 'block': {
      const path = attr(src, type === 'file' ? 'file' : 'dev') ?? null;
      return path === null ? null : { type, path, description: path };
    }
    case 'dir': {
      const path = attr(src, 'dir') ?? null;
      return path === null ? null : { type, path, description: path };
    }
    case 'volume':
      return {
        type,
        path: null,
        description: `pool ${attr(src, 'pool') ?? '?'} volume ${attr(src, 'volume') ?? '?'}`,
      };
    case 'network':
      return {
        type,
        path: null,
        description: `${attr(src, 'protocol') ?? 'network'} ${attr(src, 'name') ?? ''}`.trim(),
      };
    default:
      return { type, path: null, description: `${type} disk` };
  }
}
