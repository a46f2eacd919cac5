import { childElements, element, parseXml, writeXml } from '../xml/index.ts';
import type { XmlElement } from '../xml/index.ts';
import { PolicyOverrideSchema } from './schema.ts';
import type { PolicyOverride } from './schema.ts';

/** virt-ft's XML namespace in libvirt domain metadata. */
export const POLICY_NS = 'https://virt-ft.dev/xmlns/policy/1';
export const POLICY_NS_PREFIX = 'vft';

const SECTIONS = new Set(['restart', 'ioError', 'guestAgent', 'snapshots', 'checkpoints']);

function value(v: string): string | number | boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

function attrs(el: XmlElement): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(el.attributes)) {
    if (k.startsWith('xmlns')) continue;
    out[k.includes(':') ? k.slice(k.indexOf(':') + 1) : k] = value(v);
  }
  return out;
}

/**
 * Reads the policy a VM carries in its own libvirt metadata, so it travels with the VM:
 *
 * ```xml
 * <vft:policy xmlns:vft="https://virt-ft.dev/xmlns/policy/1" level="high">
 *   <vft:restart strategy="always" maxRestarts="5"/>
 *   <vft:snapshots intervalMs="1800000" retain="4"/>
 * </vft:policy>
 * ```
 *
 * Attributes of the root are top-level keys; each child element is a section. Validated by the
 * same schema as the config; returns `{ error }` with the problems instead of guessing.
 */
export function parsePolicyMetadata(xml: string): { policy: PolicyOverride } | { error: string } {
  let root: XmlElement;
  try {
    root = parseXml(xml).root;
  } catch (err) {
    return { error: `policy metadata is not XML: ${(err as Error).message}` };
  }
  const local = root.name.includes(':') ? root.name.slice(root.name.indexOf(':') + 1) : root.name;
  if (local !== 'policy')
    return { error: `policy metadata root is <${root.name}>, expected <policy>` };
  const obj: Record<string, unknown> = attrs(root);
  for (const child of childElements(root)) {
    const name = child.name.includes(':')
      ? child.name.slice(child.name.indexOf(':') + 1)
      : child.name;
    if (!SECTIONS.has(name)) return { error: `unknown policy section <${name}>` };
    obj[name] = attrs(child);
  }
  const r = PolicyOverrideSchema.safeParse(obj);
  if (!r.success) {
    return {
      error: r.error.issues
        .map((i) => `${i.path.map(String).join('.') || 'policy'}: ${i.message}`)
        .join('; '),
    };
  }
  return { policy: r.data };
}

/** The metadata element for a policy override (the inverse of {@link parsePolicyMetadata}). */
export function policyMetadataXml(p: PolicyOverride): string {
  const top: Record<string, string> = {};
  const children = [];
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (typeof v === 'object') {
      const attrs: Record<string, string> = {};
      for (const [ak, av] of Object.entries(v as Record<string, unknown>)) {
        if (typeof av === 'string' || typeof av === 'number' || typeof av === 'boolean') {
          attrs[ak] = String(av);
        }
      }
      children.push(element(k, attrs, []));
    } else top[k] = String(v);
  }
  return writeXml(element('policy', top, children));
}
