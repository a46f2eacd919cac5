/**
 * Snapshot and checkpoint XML: built with the escaping writer from agent/xml, never from
 * template strings, and read back with the strict parser. Names and descriptions reach here
 * validated (validate.ts); the writer escapes them anyway.
 */
import {
  attr,
  childElements,
  element,
  findPath,
  firstChild,
  parseXml,
  textContent,
  writeXml,
} from '../xml/index.ts';
import type { XmlElement } from '../xml/index.ts';

/** `<domainsnapshot>` for an internal snapshot; `memory: false` adds `<memory snapshot='no'/>`. */
export function snapshotXml(o: {
  readonly name: string;
  readonly description?: string | undefined;
  readonly memory: boolean;
}): string {
  return writeXml(
    element('domainsnapshot', {}, [
      element('name', {}, [o.name]),
      o.description !== undefined && element('description', {}, [o.description]),
      !o.memory && element('memory', { snapshot: 'no' }),
    ]),
  );
}

/** `<domaincheckpoint>`; libvirt picks the disks (every qcow2 disk gets a bitmap). */
export function checkpointXml(o: {
  readonly name: string;
  readonly description?: string | undefined;
}): string {
  return writeXml(
    element('domaincheckpoint', {}, [
      element('name', {}, [o.name]),
      o.description !== undefined && element('description', {}, [o.description]),
    ]),
  );
}

/** What virt-ft reads from a snapshot's XML. */
export interface ParsedSnapshot {
  readonly name: string;
  readonly description: string | null;
  readonly state: string;
  /** Seconds since the epoch. */
  readonly creationTime: number;
  readonly parent: string | null;
  /** The memory state is in the snapshot (`<memory snapshot='internal'|'external'>`). */
  readonly memory: boolean;
}

export function parseSnapshotXml(xml: string): ParsedSnapshot {
  const root = rootNamed(xml, 'domainsnapshot');
  const mem = firstChild(root, 'memory');
  const memMode = mem ? attr(mem, 'snapshot') : undefined;
  return {
    name: childText(root, 'name') ?? '',
    description: childText(root, 'description'),
    state: childText(root, 'state') ?? 'unknown',
    creationTime: Number(childText(root, 'creationTime') ?? 0),
    parent: textOf(findPath(root, 'parent', 'name')),
    memory: memMode === 'internal' || memMode === 'external',
  };
}

/** What virt-ft reads from a checkpoint's XML (with the SIZE flag, each disk's size). */
export interface ParsedCheckpoint {
  readonly name: string;
  readonly description: string | null;
  readonly creationTime: number;
  readonly parent: string | null;
  /** Sum of the disks' `size` attributes; null when none has one. */
  readonly sizeBytes: number | null;
}

export function parseCheckpointXml(xml: string): ParsedCheckpoint {
  const root = rootNamed(xml, 'domaincheckpoint');
  let size: number | null = null;
  const disks = firstChild(root, 'disks');
  for (const d of disks ? childElements(disks, 'disk') : []) {
    const s = attr(d, 'size');
    if (s !== undefined && /^\d+$/.test(s)) size = (size ?? 0) + Number(s);
  }
  return {
    name: childText(root, 'name') ?? '',
    description: childText(root, 'description'),
    creationTime: Number(childText(root, 'creationTime') ?? 0),
    parent: textOf(findPath(root, 'parent', 'name')),
    sizeBytes: size,
  };
}

/** Target names (`vda`…) of the domain's qcow2 file/block disks: where snapshot data goes. */
export function qcow2DiskTargets(domainXml: string): string[] {
  const devices = findPath(rootNamed(domainXml, 'domain'), 'devices');
  const out: string[] = [];
  for (const disk of devices ? childElements(devices, 'disk') : []) {
    if ((attr(disk, 'device') ?? 'disk') !== 'disk') continue;
    const driver = firstChild(disk, 'driver');
    const target = firstChild(disk, 'target');
    const dev = target ? attr(target, 'dev') : undefined;
    if (driver && attr(driver, 'type') === 'qcow2' && dev !== undefined) out.push(dev);
  }
  return out;
}

function rootNamed(xml: string, name: string): XmlElement {
  const root = parseXml(xml).root;
  if (root.name !== name) throw new Error(`expected <${name}>, libvirt sent <${root.name}>`);
  return root;
}

function childText(el: XmlElement, name: string): string | null {
  return textOf(firstChild(el, name));
}

function textOf(el: XmlElement | null): string | null {
  return el === null ? null : textContent(el);
}
