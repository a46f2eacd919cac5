import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One domain of a libvirt test-driver node file. */
export interface NodeDomain {
  readonly name: string;
  readonly uuid: string;
  readonly vcpus: number;
  readonly memoryKiB: number;
  /** virDomainState to start in (test driver's `test:runstate`). */
  readonly runState: number;
}

const esc = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

/** A deterministic UUID for domain number `i`. */
export function uuidFor(i: number, prefix = 'f7'): string {
  const h = (prefix + i.toString(16).padStart(30, '0')).slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `count` domains: names d0000…, vCPUs 1–4, memory 64–1024 MiB, running/paused/shut off. */
export function makeNodeDomains(count: number, prefix = 'd'): NodeDomain[] {
  const states = [1, 1, 1, 3, 5];
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}${String(i).padStart(4, '0')}`,
    uuid: uuidFor(i),
    vcpus: (i % 4) + 1,
    memoryKiB: (64 << (i % 5)) * 1024,
    runState: states[i % states.length] ?? 1,
  }));
}

/** The node XML the test driver reads from `test:///PATH.xml`. */
export function nodeXml(domains: readonly NodeDomain[]): string {
  const parts = [
    "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>",
    '  <cpu><mhz>2000</mhz><model>virt-ft-test</model><active>4</active><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>',
    '  <memory>33554432</memory>',
  ];
  for (const d of domains) {
    parts.push(
      `  <domain type='test'><name>${esc(d.name)}</name><uuid>${d.uuid}</uuid>` +
        `<memory>${d.memoryKiB}</memory><currentMemory>${d.memoryKiB}</currentMemory><vcpu>${d.vcpus}</vcpu>` +
        `<os><type>hvm</type></os><test:runstate>${d.runState}</test:runstate></domain>`,
    );
  }
  parts.push('</node>');
  return parts.join('\n');
}

/** Writes a node file in a fresh tmpdir; returns its `test:///` URI and a cleanup. */
export async function writeNodeFile(
  domains: readonly NodeDomain[],
): Promise<{ uri: string; path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vft-node-'));
  const path = join(dir, 'node.xml');
  await writeFile(path, nodeXml(domains));
  return { uri: `test://${path}`, path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
