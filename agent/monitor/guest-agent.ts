import type { Domain, LibvirtClient } from '../libvirt/index.ts';

/** The result of one guest-agent ping. */
export type PingResult =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly why: string };

/**
 * Sends `guest-ping` to qemu-guest-agent. The agent wait is `timeoutSec`; the call itself has
 * a deadline a little longer, so a hung daemon cannot hold the caller.
 */
export async function pingGuestAgent(
  client: LibvirtClient,
  dom: Domain,
  timeoutSec: number,
): Promise<PingResult> {
  const t0 = performance.now();
  try {
    const reply = await client.agentCommand(dom, '{"execute":"guest-ping"}', timeoutSec, {
      timeoutMs: timeoutSec * 1000 + 2000,
    });
    if (reply === null || !reply.includes('"return"'))
      return { ok: false, why: `unexpected reply ${String(reply)}` };
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

/** Counts consecutive misses per VM; a VM is armed once its agent has answered at least once. */
export class MissCounter {
  readonly #misses = new Map<string, number>();
  readonly #armed = new Set<string>();

  /** Records a result; returns the consecutive misses (0 after a success, or while unarmed). */
  record(uuid: string, r: PingResult): number {
    if (r.ok) {
      this.#armed.add(uuid);
      this.#misses.set(uuid, 0);
      return 0;
    }
    if (!this.#armed.has(uuid)) return 0;
    const n = (this.#misses.get(uuid) ?? 0) + 1;
    this.#misses.set(uuid, n);
    return n;
  }

  /** Forget a VM (it restarted: its new agent must answer once before misses count). */
  reset(uuid: string): void {
    this.#misses.delete(uuid);
    this.#armed.delete(uuid);
  }

  arm(uuid: string): void {
    this.#armed.add(uuid);
  }
}
