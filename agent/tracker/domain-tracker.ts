import type { Domain, DomainEvent } from '../libvirt/index.ts';

/** A domain's state as the agent knows it. `unknown`: libvirt or QEMU is not answering. */
export interface DomainView {
  readonly uuid: string;
  readonly name: string;
  /** libvirt's state name (Running, Paused, Shutoff, Crashed, …) or `unknown`. */
  readonly state: string;
  /** The reason by name (from GET_STATE) or the event detail that put it there. */
  readonly reason: string;
  /** When the agent saw it enter this state (ms since epoch). */
  readonly since: number;
  /** Why it is `unknown`, when it is. */
  readonly unknownWhy?: string;
  /** While `unknown`: the last state known before it (the reason is kept as it was). */
  readonly lastKnownState?: string;
}

/** One change of state, reported exactly once. `late`: it happened while we were not listening. */
export interface Transition {
  readonly uuid: string;
  readonly name: string;
  readonly from: { readonly state: string; readonly reason: string } | null;
  /** `null`: the domain was undefined (gone). */
  readonly to: { readonly state: string; readonly reason: string } | null;
  readonly at: number;
  readonly late: boolean;
  readonly source: 'event' | 'resync';
  /** The lifecycle event behind it, when there was one. */
  readonly event?: DomainEvent;
}

/** The state a lifecycle event type leaves the domain in (virDomainEventType → virDomainState). */
const STATE_AFTER: Readonly<Record<string, string | null>> = {
  Defined: null, // no change of run state; a new domain is Shutoff
  Undefined: null,
  Started: 'Running',
  Suspended: 'Paused',
  Resumed: 'Running',
  Stopped: 'Shutoff',
  Shutdown: null, // the guest finished shutting down; Stopped follows
  PMSuspended: 'PMSuspended',
  Crashed: 'Crashed',
};

/** The last real state: an `unknown` view remembers the state it had. */
function effectiveState(v: DomainView): string {
  return v.state === 'unknown' ? (v.lastKnownState ?? 'unknown') : v.state;
}

/**
 * Tracks every domain's state from lifecycle events, and from full re-listings after a
 * (re)connection: a change that happened during a gap is reported once, marked late. Keyed by
 * UUID (names can change; ids change at every start).
 */
export class DomainTracker {
  readonly #views = new Map<string, DomainView>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get size(): number {
    return this.#views.size;
  }

  get(uuid: string): DomainView | undefined {
    return this.#views.get(uuid);
  }

  all(): DomainView[] {
    return [...this.#views.values()];
  }

  /** Applies a lifecycle event; returns the transition it makes, if any. */
  applyEvent(e: DomainEvent): Transition | null {
    if (e.event !== 'lifecycle') return null;
    const type = e.type ?? '';
    const prev = this.#views.get(e.domain.uuid);
    if (type === 'Undefined') {
      if (!prev) return null;
      this.#views.delete(e.domain.uuid);
      return this.#transition(prev, null, e.domain, 'event', false, e);
    }
    const state = STATE_AFTER[type];
    if (type === 'Defined') {
      if (prev) return null;
      const view = this.#set(e.domain, 'Shutoff', 'Unknown');
      return this.#transition(null, view, e.domain, 'event', false, e);
    }
    if (state === undefined || state === null) return null;
    const view = this.#set(e.domain, state, e.detail ?? 'Unknown');
    // Same state: no transition, except a paused VM whose reason changes (User → IOError matters).
    if (
      prev &&
      prev.state === view.state &&
      (prev.reason === view.reason || view.state !== 'Paused')
    ) {
      return null;
    }
    return this.#transition(prev ?? null, view, e.domain, 'event', false, e);
  }

  /**
   * Replaces what we know with a full listing (after a reconnect, or the first one). Every
   * domain whose run state differs, appeared or vanished gives one late transition, except on
   * the very first listing, which only records.
   */
  resync(
    list: readonly { domain: Domain; state: string; reason: string }[],
    first: boolean,
  ): Transition[] {
    const out: Transition[] = [];
    const seen = new Set<string>();
    for (const { domain, state, reason } of list) {
      seen.add(domain.uuid);
      const prev = this.#views.get(domain.uuid);
      const prevState = prev ? effectiveState(prev) : null;
      if (prev && prevState === state) {
        // Same run state: keep `since`, refresh name and reason, clear `unknown`, report nothing.
        this.#views.set(domain.uuid, {
          uuid: prev.uuid,
          name: domain.name,
          state,
          reason,
          since: prev.since,
        });
        continue;
      }
      const view = this.#set(domain, state, reason);
      if (!first) out.push(this.#transition(prev ?? null, view, domain, 'resync', true));
    }
    for (const [uuid, prev] of [...this.#views]) {
      if (seen.has(uuid)) continue;
      this.#views.delete(uuid);
      if (!first)
        out.push(this.#transition(prev, null, { name: prev.name, uuid, id: -1 }, 'resync', true));
    }
    return out;
  }

  /** Marks a domain (or every domain) unknown: no destructive action may be taken on it. */
  markUnknown(uuid: string | null, why: string): void {
    const targets =
      uuid === null
        ? [...this.#views.values()]
        : [this.#views.get(uuid)].filter((v) => v !== undefined);
    for (const v of targets) {
      if (v.state === 'unknown') continue;
      this.#views.set(v.uuid, {
        ...v,
        state: 'unknown',
        lastKnownState: v.state,
        since: this.#now(),
        unknownWhy: why,
      });
    }
  }

  /**
   * Records a state read directly (GET_STATE), e.g. when a VM that was `unknown` answers again.
   * Returns the transition when the run state differs from the last real one.
   */
  setKnown(d: Domain, state: string, reason: string): Transition | null {
    const prev = this.#views.get(d.uuid);
    if (prev && effectiveState(prev) === state) {
      this.#views.set(d.uuid, { uuid: prev.uuid, name: d.name, state, reason, since: prev.since });
      return null;
    }
    const view = this.#set(d, state, reason);
    return this.#transition(prev ?? null, view, d, 'resync', true);
  }

  /** Seeds the view from persisted state at start-up, so a change while the agent was down is seen. */
  seed(views: readonly DomainView[]): void {
    for (const v of views) if (!this.#views.has(v.uuid)) this.#views.set(v.uuid, v);
  }

  #set(d: Domain, state: string, reason: string): DomainView {
    const v: DomainView = { uuid: d.uuid, name: d.name, state, reason, since: this.#now() };
    this.#views.set(d.uuid, v);
    return v;
  }

  #transition(
    prev: DomainView | null,
    next: DomainView | null,
    d: Domain,
    source: Transition['source'],
    late: boolean,
    event?: DomainEvent,
  ): Transition {
    return {
      uuid: d.uuid,
      name: next?.name ?? d.name,
      from: prev ? { state: effectiveState(prev), reason: prev.reason } : null,
      to: next ? { state: next.state, reason: next.reason } : null,
      at: this.#now(),
      late,
      source,
      ...(event ? { event } : {}),
    };
  }
}
