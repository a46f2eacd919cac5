/**
 * Measuring a snapshot or checkpoint while it is taken: how long the VM was paused, from its
 * own lifecycle events (Suspended → Resumed) on a subscription filtered to that domain and
 * opened before the call, and the disks' allocation before and after.
 */
import { performance } from 'node:perf_hooks';
import type { DomainEvent, EventGap, EventSubscription } from '../libvirt/index.ts';
import type { OpContext } from './context.ts';
import { qcow2DiskTargets } from './xml.ts';

/** How long to wait for a Resumed event that had not arrived when the call returned. */
const RESUME_EVENT_WAIT_MS = 1_000;

/** Collects Suspended/Resumed events of one domain during one call. */
export class PauseWatcher {
  readonly #sub: EventSubscription | null;
  readonly #events: { readonly type: string; readonly at: number }[] = [];
  readonly #done: Promise<void>;
  #wake: (() => void) | null = null;

  private constructor(sub: EventSubscription | null) {
    this.#sub = sub;
    this.#done = sub ? this.#collect(sub) : Promise.resolve();
  }

  /** Subscribes to the domain's lifecycle events; without events (subscription refused) measures 0. */
  static async open(ctx: OpContext): Promise<PauseWatcher> {
    ctx.step("subscribing to the domain's lifecycle events");
    try {
      const sub = await ctx.client.subscribe({
        events: ['lifecycle'],
        domain: ctx.dom,
        timeoutMs: ctx.remainingMs(),
        queueSize: 64,
      });
      return new PauseWatcher(sub);
    } catch (err) {
      ctx.signal.throwIfAborted();
      ctx.log.warn(
        { domainUuid: ctx.dom.uuid, err: (err as Error).message },
        'no lifecycle events: paused time not measured',
      );
      return new PauseWatcher(null);
    }
  }

  /**
   * Paused milliseconds between `startMs` and `endMs` (epoch ms): each Suspended → Resumed pair.
   * When a Suspended has no Resumed yet, waits a little for it, then counts up to `endMs`.
   */
  async pausedMs(startMs: number, endMs: number): Promise<number> {
    const until = performance.now() + RESUME_EVENT_WAIT_MS;
    while (this.#openPause() && performance.now() < until && this.#sub && !this.#sub.ended) {
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50).unref();
      });
    }
    let total = 0;
    let pausedAt: number | null = null;
    for (const e of this.#events) {
      if (e.type === 'Suspended' && pausedAt === null) pausedAt = Math.max(e.at, startMs);
      else if (e.type === 'Resumed' && pausedAt !== null) {
        total += Math.max(0, e.at - pausedAt);
        pausedAt = null;
      }
    }
    if (pausedAt !== null) total += Math.max(0, Math.max(endMs, pausedAt) - pausedAt);
    return total;
  }

  async close(): Promise<void> {
    await this.#sub?.close();
    await this.#done;
  }

  #openPause(): boolean {
    let open = false;
    for (const e of this.#events) {
      if (e.type === 'Suspended') open = true;
      else if (e.type === 'Resumed') open = false;
    }
    return open;
  }

  async #collect(sub: AsyncIterable<DomainEvent | EventGap>): Promise<void> {
    for await (const e of sub) {
      if (e.event === 'lifecycle' && (e.type === 'Suspended' || e.type === 'Resumed')) {
        this.#events.push({ type: e.type, at: e.time.getTime() });
        this.#wake?.();
      }
    }
  }
}

/** The qcow2 disks' allocations (bytes) by target; null when they cannot be read. */
export async function diskAllocations(ctx: OpContext): Promise<Map<string, bigint> | null> {
  ctx.step("reading the disks' allocation");
  try {
    const targets = qcow2DiskTargets(await ctx.client.domainGetXmlDesc(ctx.dom, 0, ctx.call()));
    const out = new Map<string, bigint>();
    for (const t of targets)
      out.set(t, (await ctx.client.domainGetBlockInfo(ctx.dom, t, ctx.call())).allocation);
    return out;
  } catch (err) {
    ctx.signal.throwIfAborted();
    ctx.log.warn(
      { domainUuid: ctx.dom.uuid, err: (err as Error).message },
      'disk allocation unknown: size not measured',
    );
    return null;
  }
}

/** Total growth from `before` to `after` over the disks present in both; null if either is unknown. */
export function allocationGrowth(
  before: Map<string, bigint> | null,
  after: Map<string, bigint> | null,
): number | null {
  if (!before || !after) return null;
  let total = 0n;
  for (const [t, b] of before) {
    const a = after.get(t);
    if (a !== undefined && a > b) total += a - b;
  }
  return Number(total);
}
