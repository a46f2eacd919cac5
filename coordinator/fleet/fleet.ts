/**
 * The fleet: every host's state, fed by the agent links. Messages are queued and written to the
 * store in one transaction per turn of the event loop (group commit), then applied to the
 * hosts' state and handed to live watchers: what a watcher or the API shows is always stored.
 * A duplicate (agent, epoch, seq) is neither stored nor applied a second time.
 */
import type { Logger } from 'pino';
import { describeError } from '../../shared/errors.ts';
import type { EventMessage, WireStatus } from '../../shared/protocol/index.ts';
import type { LinkSink } from '../link/agent-link.ts';
import type { Cursor, EventStore, StoredEvent, StoreOp } from '../store/types.ts';
import { HostState } from './host-state.ts';
import { LatencyWindow } from './latency.ts';

/** What the fleet tells its listeners (the live tail). */
export interface FleetListener {
  stored?(events: readonly StoredEvent[]): void;
  hostChanged?(host: string): void;
}

/** Every host's state; the sink of every link; what the API and the live tail read. */
export class Fleet implements LinkSink {
  readonly hosts = new Map<string, HostState>();
  /** Agent event time → stored, over the last events (the bench and /v1/metrics read it). */
  readonly latency = new LatencyWindow(100_000);
  readonly #store: EventStore;
  readonly #log: Logger;
  readonly #listeners = new Set<FleetListener>();
  #queue: StoreOp[] = [];
  #scheduled = false;
  #duplicates = 0;
  #writeErrors = 0;
  /** Called with the hosts whose ops could not be stored: their links resume from the store. */
  onWriteError: (hosts: ReadonlySet<string>) => void = () => undefined;
  /** Called when a host has VMs whose policy level is unknown (the link fetches a snapshot). */
  onNeedPolicy: (host: string) => void = () => undefined;

  constructor(store: EventStore, log: Logger, hosts: readonly string[]) {
    this.#store = store;
    this.#log = log.child({ component: 'fleet' });
    for (const h of hosts) this.hosts.set(h, new HostState(h));
  }

  get duplicates(): number {
    return this.#duplicates;
  }
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Rebuilds every host from its stored snapshot and the stored events after it; the cursors. */
  restore(): Map<string, Cursor> {
    const cursors = this.#store.cursors();
    for (const [host, state] of this.hosts) {
      const snap = this.#store.snapshot(host);
      if (!snap) continue;
      state.applySnapshot(snap.epoch, snap.seq, snap.status);
      for (const e of this.#store.eventsAfter(host, snap.epoch, snap.seq))
        state.applyEvent(snap.epoch, e.event);
    }
    return cursors;
  }

  addListener(l: FleetListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  snapshot(host: string, epoch: string, seq: number, status: WireStatus): void {
    this.#push({ type: 'snapshot', host, epoch, seq, status });
  }

  event(host: string, epoch: string, event: EventMessage): void {
    this.#push({ type: 'event', host, epoch, event });
  }

  policies(host: string, status: WireStatus): void {
    const n = this.hosts.get(host)?.mergePolicies(status) ?? 0;
    if (n > 0) this.changed(host);
  }

  changed(host: string): void {
    for (const l of this.#listeners) l.hostChanged?.(host);
  }

  /** Writes and applies what is queued now (also runs by itself once per turn). */
  flush(): void {
    this.#scheduled = false;
    const ops = this.#queue;
    if (ops.length === 0) return;
    this.#queue = [];
    const now = Date.now();
    let result: ReturnType<EventStore['write']>;
    try {
      result = this.#store.write(ops, now);
    } catch (err) {
      this.#writeErrors++;
      const hosts = new Set(ops.map((o) => o.host));
      this.#log.error(
        { err: describeError(err), ops: ops.length, hosts: [...hosts] },
        'cannot store events: those agents resume from the stored cursor',
      );
      this.onWriteError(hosts);
      return;
    }
    ops.forEach((op, i) => {
      const state = this.hosts.get(op.host);
      if (!state) return;
      if (op.type === 'snapshot') state.applySnapshot(op.epoch, op.seq, op.status, now);
      else if (result.applied[i]) state.applyEvent(op.epoch, op.event, now);
      else this.#duplicates++;
    });
    for (const e of result.stored) this.latency.add(e.receivedMs - Date.parse(e.at));
    for (const h of new Set(ops.map((o) => o.host)))
      if (this.hosts.get(h)?.needsPolicy) this.onNeedPolicy(h);
    if (result.stored.length > 0) for (const l of this.#listeners) l.stored?.(result.stored);
  }

  /** Persists each host's applied state as its snapshot, so a restart replays few events. */
  checkpoint(): void {
    this.flush();
    const ops: StoreOp[] = [];
    for (const s of this.hosts.values()) {
      // A VM the snapshot does not have (it appeared later) cannot be written as a domain of
      // the status: that host keeps its snapshot and replays its events at the next start.
      const known = new Set(s.status?.domains.map((d) => d.uuid.toLowerCase()));
      const fresh = [...s.vms.keys()].some((u) => !known.has(u));
      if (s.status && s.epoch !== null && !fresh) ops.push(this.#current(s));
    }
    if (ops.length === 0) return;
    try {
      this.#store.write(ops, Date.now());
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'cannot checkpoint the fleet state');
    }
  }

  #current(s: HostState): StoreOp {
    const base = s.status as WireStatus;
    const domains = base.domains
      .filter((d) => s.vms.has(d.uuid.toLowerCase()))
      .map((d) => {
        const vm = s.vms.get(d.uuid.toLowerCase());
        return vm
          ? { ...d, state: vm.state, reason: vm.reason, since: vm.since, status: vm.status }
          : d;
      });
    return {
      type: 'snapshot',
      host: s.host,
      epoch: s.epoch ?? '',
      seq: s.seq,
      status: { ...base, domains },
    };
  }

  #push(op: StoreOp): void {
    this.#queue.push(op);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.flush();
    });
  }
}
