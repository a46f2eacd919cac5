import type { Domain, LibvirtClient } from '../libvirt/index.ts';
import { MetadataType } from '../libvirt/index.ts';
import { parsePolicyMetadata, POLICY_NS } from '../policy/metadata.ts';
import type { PolicyOverride } from '../policy/schema.ts';
import { attr, childElements, findPath, parseXml } from '../xml/index.ts';

/** What the agent reads about a VM besides its state. */
export interface DomainInfo {
  /** The domain XML has the qemu-guest-agent channel. */
  readonly hasGuestAgent: boolean;
  /** The policy in the VM's own metadata, if any. */
  readonly metadataPolicy: PolicyOverride | null;
  /** Why the metadata policy was ignored, when it was. */
  readonly metadataError: string | null;
}

/** True when the domain XML has `<channel><target type='virtio' name='org.qemu.guest_agent.0'/>`. */
export function hasGuestAgentChannel(domainXml: string): boolean {
  const devices = findPath(parseXml(domainXml).root, 'devices');
  if (!devices) return false;
  return childElements(devices, 'channel').some((ch) =>
    childElements(ch, 'target').some(
      (t) => attr(t, 'type') === 'virtio' && attr(t, 'name') === 'org.qemu.guest_agent.0',
    ),
  );
}

/** Reads a VM's XML and virt-ft metadata. */
export async function readDomainInfo(
  client: LibvirtClient,
  dom: Domain,
  timeoutMs: number,
): Promise<DomainInfo> {
  const [xml, meta] = await Promise.all([
    client.domainGetXmlDesc(dom, 0, { timeoutMs }),
    client.domainGetMetadata(dom, MetadataType.ELEMENT, POLICY_NS, 0, { timeoutMs }),
  ]);
  let hasGuestAgent: boolean;
  try {
    hasGuestAgent = hasGuestAgentChannel(xml);
  } catch {
    hasGuestAgent = false; // unparsable XML: no pings rather than false alarms
  }
  if (meta === null) return { hasGuestAgent, metadataPolicy: null, metadataError: null };
  const parsed = parsePolicyMetadata(meta);
  return 'policy' in parsed
    ? { hasGuestAgent, metadataPolicy: parsed.policy, metadataError: null }
    : { hasGuestAgent, metadataPolicy: null, metadataError: parsed.error };
}
