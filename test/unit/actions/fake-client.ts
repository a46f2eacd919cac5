/* eslint-disable @typescript-eslint/no-unused-vars -- the fake mirrors LibvirtClient's signatures */
// An in-memory stand-in for LibvirtClient with just what the executor calls: one domain model
// per UUID, every call counted and traced, optional delays that honour the call's signal.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LibvirtClient } from '../../../agent/libvirt/index.ts';
import {
  DomainState,
  LibvirtAbortError,
  LibvirtRemoteError,
  VirErrorCode,
} from '../../../agent/libvirt/index.ts';
import type { CallOptions, Domain } from '../../../agent/libvirt/index.ts';

export interface FakeDomain {
  readonly dom: Domain;
  state: number;
  reason: number;
  snapshots: { name: string; creationTime: number; xml: string }[];
  checkpoints: { name: string; creationTime: number }[];
}

const NAMES = ['NoState', 'Running', 'Blocked', 'Paused', 'Shutdown', 'Shutoff', 'Crashed'];

export class FakeClient {
  readonly domains = new Map<string, FakeDomain>();
  /** Every call by method name, in order. */
  readonly calls: string[] = [];
  /** Calls in progress now, per domain UUID, and the most seen at once. */
  readonly inFlight = new Map<string, number>();
  maxInFlight = 0;
  /** Delay of each mutating call, ms. */
  delayMs = 0;
  /** Called before each call (e.g. to check the marker is on disk). */
  onCall: ((method: string) => void | Promise<void>) | null = null;
  isClosed = false;

  add(uuid: string, name: string, state: number = DomainState.RUNNING): FakeDomain {
    const d: FakeDomain = {
      dom: { uuid, name, id: 1 },
      state,
      reason: 1,
      snapshots: [],
      checkpoints: [],
    };
    this.domains.set(uuid, d);
    return d;
  }

  get client(): LibvirtClient {
    return this as unknown as LibvirtClient;
  }

  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }

  async #call<T>(
    method: string,
    uuid: string | null,
    o: CallOptions | undefined,
    mutating: boolean,
    fn: () => T,
  ): Promise<T> {
    this.calls.push(method);
    await this.onCall?.(method);
    const key = uuid ?? '-';
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    try {
      if (mutating && this.delayMs > 0) {
        try {
          await sleep(this.delayMs, undefined, o?.signal ? { signal: o.signal } : {});
        } catch {
          throw new LibvirtAbortError(`${method} aborted`);
        }
      }
      return fn();
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    }
  }

  #dom(uuid: string): FakeDomain {
    const d = this.domains.get(uuid);
    if (!d) throw remote(VirErrorCode.NO_DOMAIN, 'no domain');
    return d;
  }

  lookupDomainByUuid(uuid: string, o?: CallOptions): Promise<Domain | null> {
    return this.#call(
      'lookupDomainByUuid',
      uuid,
      o,
      false,
      () => this.domains.get(uuid)?.dom ?? null,
    );
  }
  domainGetState(dom: Domain, o?: CallOptions) {
    return this.#call('domainGetState', dom.uuid, o, false, () => {
      const d = this.#dom(dom.uuid);
      return {
        state: d.state,
        reason: d.reason,
        stateName: NAMES[d.state] ?? '?',
        reasonName: 'Fake',
      };
    });
  }
  domainCreate(dom: Domain, _flags = 0, o?: CallOptions): Promise<Domain> {
    return this.#call('domainCreate', dom.uuid, o, true, () => {
      const d = this.#dom(dom.uuid);
      if (d.state !== DomainState.SHUTOFF)
        throw remote(VirErrorCode.OPERATION_INVALID, 'already running');
      d.state = DomainState.RUNNING;
      return d.dom;
    });
  }
  domainShutdown(dom: Domain, _flags = 0, o?: CallOptions): Promise<void> {
    return this.#call('domainShutdown', dom.uuid, o, true, () => undefined);
  }
  domainDestroy(dom: Domain, _flags = 0, o?: CallOptions): Promise<void> {
    return this.#call('domainDestroy', dom.uuid, o, true, () => {
      this.#dom(dom.uuid).state = DomainState.SHUTOFF;
    });
  }
  domainSuspend(dom: Domain, o?: CallOptions): Promise<void> {
    return this.#call('domainSuspend', dom.uuid, o, true, () => {
      this.#dom(dom.uuid).state = DomainState.PAUSED;
    });
  }
  domainResume(dom: Domain, o?: CallOptions): Promise<void> {
    return this.#call('domainResume', dom.uuid, o, true, () => {
      this.#dom(dom.uuid).state = DomainState.RUNNING;
    });
  }
  domainGetXmlDesc(dom: Domain, _flags = 0, o?: CallOptions): Promise<string> {
    return this.#call(
      'domainGetXmlDesc',
      dom.uuid,
      o,
      false,
      () =>
        "<domain><devices><disk device='disk'><driver type='qcow2'/><target dev='vda'/></disk></devices></domain>",
    );
  }
  domainGetBlockInfo(dom: Domain, _path: string, o?: CallOptions) {
    return this.#call('domainGetBlockInfo', dom.uuid, o, false, () => {
      const n = BigInt(this.#dom(dom.uuid).snapshots.length);
      return { allocation: 1000n + n * 500n, capacity: 1n << 26n, physical: 0n };
    });
  }
  domainGetJobInfo(dom: Domain, o?: CallOptions) {
    return this.#call('domainGetJobInfo', dom.uuid, o, false, () => ({ type: 0 }));
  }
  subscribe(): Promise<AsyncIterable<never> & { close(): Promise<void>; ended: boolean }> {
    this.calls.push('subscribe');
    return Promise.resolve({
      ended: true,
      close: () => Promise.resolve(),
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.resolve({ done: true as const, value: undefined as never }),
      }),
    });
  }
  snapshotLookupByName(dom: Domain, name: string, o?: CallOptions) {
    return this.#call('snapshotLookupByName', dom.uuid, o, false, () =>
      this.#dom(dom.uuid).snapshots.some((s) => s.name === name) ? { name, domain: dom } : null,
    );
  }
  snapshotCreateXml(dom: Domain, xml: string, _flags = 0, o?: CallOptions) {
    return this.#call('snapshotCreateXml', dom.uuid, o, true, () => {
      const name = /<name>([^<]*)<\/name>/.exec(xml)?.[1] ?? '';
      const d = this.#dom(dom.uuid);
      if (d.snapshots.some((s) => s.name === name))
        throw remote(VirErrorCode.INVALID_DOMAIN_SNAPSHOT, 'exists');
      d.snapshots.push({ name, creationTime: Math.floor(Date.now() / 1000), xml });
      return { name, domain: dom };
    });
  }
  listAllSnapshots(dom: Domain, _flags = 0, o?: CallOptions) {
    return this.#call('listAllSnapshots', dom.uuid, o, false, () =>
      this.#dom(dom.uuid).snapshots.map((s) => ({ name: s.name, domain: dom })),
    );
  }
  snapshotCurrent(dom: Domain, o?: CallOptions) {
    return this.#call('snapshotCurrent', dom.uuid, o, false, () => {
      const last = this.#dom(dom.uuid).snapshots.at(-1);
      return last ? { name: last.name, domain: dom } : null;
    });
  }
  snapshotGetXmlDesc(snap: { name: string; domain: Domain }, _flags = 0, o?: CallOptions) {
    return this.#call('snapshotGetXmlDesc', snap.domain.uuid, o, false, () => {
      const s = this.#dom(snap.domain.uuid).snapshots.find((x) => x.name === snap.name);
      if (!s) throw remote(VirErrorCode.NO_DOMAIN_SNAPSHOT, 'no snapshot');
      return s.xml.replace(
        '</domainsnapshot>',
        `<state>running</state><creationTime>${s.creationTime}</creationTime></domainsnapshot>`,
      );
    });
  }
  snapshotDelete(snap: { name: string; domain: Domain }, _flags = 0, o?: CallOptions) {
    return this.#call('snapshotDelete', snap.domain.uuid, o, true, () => {
      const d = this.#dom(snap.domain.uuid);
      d.snapshots = d.snapshots.filter((s) => s.name !== snap.name);
    });
  }
  listAllCheckpoints(dom: Domain, _flags = 0, o?: CallOptions) {
    return this.#call('listAllCheckpoints', dom.uuid, o, false, () =>
      this.#dom(dom.uuid).checkpoints.map((c) => ({ name: c.name, domain: dom })),
    );
  }
  checkpointLookupByName(dom: Domain, name: string, o?: CallOptions) {
    return this.#call('checkpointLookupByName', dom.uuid, o, false, () =>
      this.#dom(dom.uuid).checkpoints.some((c) => c.name === name) ? { name, domain: dom } : null,
    );
  }
  checkpointGetXmlDesc(ck: { name: string; domain: Domain }, _flags = 0, o?: CallOptions) {
    return this.#call('checkpointGetXmlDesc', ck.domain.uuid, o, false, () => {
      const c = this.#dom(ck.domain.uuid).checkpoints.find((x) => x.name === ck.name);
      if (!c) throw remote(VirErrorCode.NO_DOMAIN_CHECKPOINT, 'no checkpoint');
      return `<domaincheckpoint><name>${c.name}</name><creationTime>${c.creationTime}</creationTime></domaincheckpoint>`;
    });
  }
  domainHasManagedSaveImage(dom: Domain, o?: CallOptions) {
    return this.#call(
      'domainHasManagedSaveImage',
      dom.uuid,
      o,
      false,
      () => this.#dom(dom.uuid).state === DomainState.SHUTOFF && this.#dom(dom.uuid).reason === 5,
    );
  }
}

export function remote(code: number, message: string): LibvirtRemoteError {
  return new LibvirtRemoteError('FAKE', {
    code,
    domain: 10,
    message,
    level: 2,
    str1: null,
    str2: null,
    str3: null,
    int1: 0,
    int2: 0,
  });
}
