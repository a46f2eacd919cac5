import type { Domain, LibvirtClient } from '../libvirt/index.ts';
import { CONTROL_ERROR_DETAILS, CONTROL_STATES, nameOf } from '../libvirt/index.ts';

/** What the probe concluded about one running VM. */
export type ProbeVerdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

/**
 * Is libvirt still in control of a VM's QEMU? Uses DOMAIN_GET_CONTROL_INFO, which libvirt
 * answers from its own bookkeeping without touching the monitor (VDSM does the same): a
 * monitor command pending longer than `monitorTimeoutMs`, or a broken monitor, means the VM's
 * true state is unknown — and no destructive action may be taken on it.
 */
export async function probeControl(
  client: LibvirtClient,
  dom: Domain,
  monitorTimeoutMs: number,
  callTimeoutMs: number,
): Promise<ProbeVerdict> {
  let info;
  try {
    info = await client.domainGetControlInfo(dom, { timeoutMs: callTimeoutMs });
  } catch (err) {
    if (
      (err as { virCode?: number }).virCode === 55 ||
      (err as { virCode?: number }).virCode === 42
    ) {
      return { ok: true }; // not running any more, or gone: the lifecycle events say what happened
    }
    return {
      ok: false,
      why: `libvirt did not answer DOMAIN_GET_CONTROL_INFO: ${(err as Error).message}`,
    };
  }
  const state = nameOf(CONTROL_STATES, info.state);
  const ms = Number(info.stateTimeMs);
  if (state === 'Error') {
    return {
      ok: false,
      why: `libvirt lost control of QEMU (${nameOf(CONTROL_ERROR_DETAILS, info.details)} error)`,
    };
  }
  if (state === 'Occupied' && ms > monitorTimeoutMs) {
    return {
      ok: false,
      why: `QEMU monitor has not answered for ${ms} ms (limit ${monitorTimeoutMs} ms)`,
    };
  }
  return { ok: true };
}
