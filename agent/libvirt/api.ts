import { LibvirtConnection, orNull } from './client.ts';
import type { ConnectionInfo, OpenOptions } from './client.ts';
import { VirErrorCode } from './errors.ts';
import { EventRegistry } from './events/subscription.ts';
import type { EventSubscription, SubscribeOptions } from './events/subscription.ts';
import { stateName, stateReasonName } from './protocol/enums.ts';
import { StatsTypes } from './protocol/flags.ts';
import type { Domain, DomainCheckpoint, DomainSnapshot, TypedParams } from './protocol/types.ts';
import * as C from './procedures/connect.ts';
import * as D from './procedures/domain.ts';
import * as S from './procedures/snapshot.ts';
import type { CallOptions, CloseInfo } from './rpc/connection.ts';
import type { Procedure } from './rpc/procedure.ts';

/** A domain's state with its reason, by number and by name. */
export interface DomainStateInfo {
  readonly state: number;
  readonly reason: number;
  /** e.g. `Crashed`. */
  readonly stateName: string;
  /** e.g. `Panicked`. */
  readonly reasonName: string;
}

type Opts = CallOptions | undefined;

/**
 * The libvirt client: one connection and the procedures virt-ft uses, typed. Expected
 * absence (no such domain, snapshot, checkpoint, metadata) resolves `null`; every other
 * failure rejects with a typed {@link LibvirtError}. Every call takes a deadline and a signal.
 */
export class LibvirtClient {
  readonly connection: LibvirtConnection;
  readonly #events: EventRegistry;

  constructor(connection: LibvirtConnection) {
    this.connection = connection;
    this.#events = new EventRegistry(connection);
  }

  /** Opens a connection (see {@link OpenOptions}). */
  static async connect(options: OpenOptions = {}): Promise<LibvirtClient> {
    return new LibvirtClient(await LibvirtConnection.open(options));
  }

  get info(): ConnectionInfo {
    return this.connection.info;
  }

  get closed(): Promise<CloseInfo> {
    return this.connection.closed;
  }

  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Any procedure, raw. */
  call<A, R>(proc: Procedure<A, R>, args: A, o?: Opts): Promise<R> {
    return this.connection.call(proc, args, o);
  }

  /** Registers event callbacks and returns a bounded, gap-reporting stream of events. */
  subscribe(options?: SubscribeOptions): Promise<EventSubscription> {
    return this.#events.subscribe(options);
  }

  // Host
  getHostname(o?: Opts): Promise<string> {
    return this.call(C.connectGetHostname, undefined, o);
  }
  getNodeInfo(o?: Opts): Promise<C.NodeInfo> {
    return this.call(C.nodeGetInfo, undefined, o);
  }
  getType(o?: Opts): Promise<string> {
    return this.call(C.connectGetType, undefined, o);
  }
  getUri(o?: Opts): Promise<string> {
    return this.call(C.connectGetUri, undefined, o);
  }
  async getVersion(o?: Opts): Promise<number> {
    return Number(await this.call(C.connectGetVersion, undefined, o));
  }

  // Listing and lookup
  async listAllDomains(flags = 0, o?: Opts): Promise<Domain[]> {
    return (await this.call(D.connectListAllDomains, { needResults: true, flags }, o)).domains;
  }
  lookupDomainByName(name: string, o?: Opts): Promise<Domain | null> {
    return orNull(this.call(D.domainLookupByName, name, o), VirErrorCode.NO_DOMAIN);
  }
  lookupDomainByUuid(uuid: string, o?: Opts): Promise<Domain | null> {
    return orNull(this.call(D.domainLookupByUuid, uuid, o), VirErrorCode.NO_DOMAIN);
  }
  lookupDomainById(id: number, o?: Opts): Promise<Domain | null> {
    return orNull(this.call(D.domainLookupById, id, o), VirErrorCode.NO_DOMAIN);
  }

  // State
  async domainGetState(dom: Domain, o?: Opts): Promise<DomainStateInfo> {
    const { state, reason } = await this.call(D.domainGetState, { dom, flags: 0 }, o);
    return {
      state,
      reason,
      stateName: stateName(state),
      reasonName: stateReasonName(state, reason),
    };
  }
  domainGetInfo(dom: Domain, o?: Opts): Promise<D.DomainInfo> {
    return this.call(D.domainGetInfo, { dom }, o);
  }
  domainGetXmlDesc(dom: Domain, flags = 0, o?: Opts): Promise<string> {
    return this.call(D.domainGetXmlDesc, { dom, flags }, o);
  }
  /** Whether libvirt controls the QEMU monitor (OK/JOB/OCCUPIED/ERROR and for how long). */
  domainGetControlInfo(dom: Domain, o?: Opts): Promise<D.ControlInfo> {
    return this.call(D.domainGetControlInfo, { dom, flags: 0 }, o);
  }
  domainIsActive(dom: Domain, o?: Opts): Promise<boolean> {
    return this.call(D.domainIsActive, { dom }, o);
  }
  domainIsPersistent(dom: Domain, o?: Opts): Promise<boolean> {
    return this.call(D.domainIsPersistent, { dom }, o);
  }
  domainGetAutostart(dom: Domain, o?: Opts): Promise<boolean> {
    return this.call(D.domainGetAutostart, { dom }, o);
  }
  domainSetAutostart(dom: Domain, autostart: boolean, o?: Opts): Promise<void> {
    return this.call(D.domainSetAutostart, { dom, autostart }, o);
  }
  /** Bulk stats; `doms` empty means every domain matching `flags`. */
  getAllDomainStats(
    args: { doms?: readonly Domain[]; stats?: number; flags?: number } = {},
    o?: Opts,
  ): Promise<D.DomainStatsRecord[]> {
    return this.call(
      D.connectGetAllDomainStats,
      { doms: args.doms ?? [], stats: args.stats ?? StatsTypes.STATE, flags: args.flags ?? 0 },
      o,
    );
  }

  // Lifecycle
  /** Starts a defined domain (restoring its managed-save image if any); returns it with its new id. */
  domainCreate(dom: Domain, flags = 0, o?: Opts): Promise<Domain> {
    return this.call(D.domainCreateWithFlags, { dom, flags }, o);
  }
  domainCreateXml(xml: string, flags = 0, o?: Opts): Promise<Domain> {
    return this.call(D.domainCreateXml, { xml, flags }, o);
  }
  domainDefineXml(xml: string, flags = 0, o?: Opts): Promise<Domain> {
    return this.call(D.domainDefineXmlFlags, { xml, flags }, o);
  }
  domainUndefine(dom: Domain, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainUndefineFlags, { dom, flags }, o);
  }
  domainShutdown(dom: Domain, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainShutdownFlags, { dom, flags }, o);
  }
  domainReboot(dom: Domain, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainReboot, { dom, flags }, o);
  }
  domainReset(dom: Domain, o?: Opts): Promise<void> {
    return this.call(D.domainReset, { dom, flags: 0 }, o);
  }
  domainDestroy(dom: Domain, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainDestroyFlags, { dom, flags }, o);
  }
  domainSuspend(dom: Domain, o?: Opts): Promise<void> {
    return this.call(D.domainSuspend, { dom }, o);
  }
  domainResume(dom: Domain, o?: Opts): Promise<void> {
    return this.call(D.domainResume, { dom }, o);
  }

  // Save
  domainSave(dom: Domain, to: string, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainSaveFlags, { dom, to, dxml: null, flags }, o);
  }
  domainRestore(from: string, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainRestoreFlags, { from, dxml: null, flags }, o);
  }
  domainManagedSave(dom: Domain, flags = 0, o?: Opts): Promise<void> {
    return this.call(D.domainManagedSave, { dom, flags }, o);
  }
  domainHasManagedSaveImage(dom: Domain, o?: Opts): Promise<boolean> {
    return this.call(D.domainHasManagedSaveImage, { dom, flags: 0 }, o);
  }
  domainManagedSaveRemove(dom: Domain, o?: Opts): Promise<void> {
    return this.call(D.domainManagedSaveRemove, { dom, flags: 0 }, o);
  }

  // Snapshots
  snapshotCreateXml(dom: Domain, xml: string, flags = 0, o?: Opts): Promise<DomainSnapshot> {
    return this.call(S.domainSnapshotCreateXml, { dom, xml, flags }, o);
  }
  async listAllSnapshots(dom: Domain, flags = 0, o?: Opts): Promise<DomainSnapshot[]> {
    return (await this.call(S.domainListAllSnapshots, { dom, needResults: true, flags }, o))
      .snapshots;
  }
  snapshotLookupByName(dom: Domain, name: string, o?: Opts): Promise<DomainSnapshot | null> {
    return orNull(
      this.call(S.domainSnapshotLookupByName, { dom, name, flags: 0 }, o),
      VirErrorCode.NO_DOMAIN_SNAPSHOT,
    );
  }
  snapshotGetXmlDesc(snap: DomainSnapshot, flags = 0, o?: Opts): Promise<string> {
    return this.call(S.domainSnapshotGetXmlDesc, { snap, flags }, o);
  }
  /** The current snapshot, or null when the domain has none. */
  snapshotCurrent(dom: Domain, o?: Opts): Promise<DomainSnapshot | null> {
    return orNull(
      this.call(S.domainSnapshotCurrent, { dom, flags: 0 }, o),
      VirErrorCode.NO_DOMAIN_SNAPSHOT,
    );
  }
  snapshotGetParent(snap: DomainSnapshot, o?: Opts): Promise<DomainSnapshot | null> {
    return orNull(
      this.call(S.domainSnapshotGetParent, { snap, flags: 0 }, o),
      VirErrorCode.NO_DOMAIN_SNAPSHOT,
    );
  }
  revertToSnapshot(snap: DomainSnapshot, flags = 0, o?: Opts): Promise<void> {
    return this.call(S.domainRevertToSnapshot, { snap, flags }, o);
  }
  snapshotDelete(snap: DomainSnapshot, flags = 0, o?: Opts): Promise<void> {
    return this.call(S.domainSnapshotDelete, { snap, flags }, o);
  }

  // Checkpoints and backup
  checkpointCreateXml(dom: Domain, xml: string, flags = 0, o?: Opts): Promise<DomainCheckpoint> {
    return this.call(S.domainCheckpointCreateXml, { dom, xml, flags }, o);
  }
  async listAllCheckpoints(dom: Domain, flags = 0, o?: Opts): Promise<DomainCheckpoint[]> {
    return (await this.call(S.domainListAllCheckpoints, { dom, needResults: true, flags }, o))
      .checkpoints;
  }
  checkpointLookupByName(dom: Domain, name: string, o?: Opts): Promise<DomainCheckpoint | null> {
    return orNull(
      this.call(S.domainCheckpointLookupByName, { dom, name, flags: 0 }, o),
      VirErrorCode.NO_DOMAIN_CHECKPOINT,
    );
  }
  checkpointGetXmlDesc(ckpt: DomainCheckpoint, flags = 0, o?: Opts): Promise<string> {
    return this.call(S.domainCheckpointGetXmlDesc, { ckpt, flags }, o);
  }
  checkpointDelete(ckpt: DomainCheckpoint, flags = 0, o?: Opts): Promise<void> {
    return this.call(S.domainCheckpointDelete, { ckpt, flags }, o);
  }
  backupBegin(
    dom: Domain,
    backupXml: string,
    checkpointXml: string | null = null,
    flags = 0,
    o?: Opts,
  ): Promise<void> {
    return this.call(S.domainBackupBegin, { dom, backupXml, checkpointXml, flags }, o);
  }
  /** The running backup job's XML, or null when no backup runs. */
  backupGetXmlDesc(dom: Domain, o?: Opts): Promise<string | null> {
    return orNull(
      this.call(S.domainBackupGetXmlDesc, { dom, flags: 0 }, o),
      VirErrorCode.NO_DOMAIN_BACKUP,
    );
  }

  // Jobs
  domainGetJobInfo(dom: Domain, o?: Opts): Promise<S.JobInfo> {
    return this.call(S.domainGetJobInfo, { dom }, o);
  }
  domainGetJobStats(
    dom: Domain,
    flags = 0,
    o?: Opts,
  ): Promise<{ type: number; params: TypedParams }> {
    return this.call(S.domainGetJobStats, { dom, flags }, o);
  }
  domainAbortJob(dom: Domain, o?: Opts): Promise<void> {
    return this.call(S.domainAbortJob, { dom }, o);
  }

  // Metadata, block info, guest agent
  /** Metadata of `type` (ELEMENT needs the namespace `uri`), or null when there is none. */
  domainGetMetadata(
    dom: Domain,
    type: number,
    uri: string | null,
    flags = 0,
    o?: Opts,
  ): Promise<string | null> {
    return orNull(
      this.call(S.domainGetMetadata, { dom, type, uri, flags }, o),
      VirErrorCode.NO_DOMAIN_METADATA,
    );
  }
  /** Sets (or, with `metadata` null, removes) metadata; ELEMENT needs `key` and `uri`. */
  domainSetMetadata(
    dom: Domain,
    args: {
      type: number;
      metadata: string | null;
      key?: string | null;
      uri?: string | null;
      flags?: number;
    },
    o?: Opts,
  ): Promise<void> {
    return this.call(
      S.domainSetMetadata,
      {
        dom,
        type: args.type,
        metadata: args.metadata,
        key: args.key ?? null,
        uri: args.uri ?? null,
        flags: args.flags ?? 0,
      },
      o,
    );
  }
  domainGetBlockInfo(dom: Domain, path: string, o?: Opts): Promise<S.BlockInfo> {
    return this.call(S.domainGetBlockInfo, { dom, path, flags: 0 }, o);
  }
  /** Sends a raw guest-agent command (JSON text); `timeoutSec` is the agent's own wait. */
  agentCommand(dom: Domain, cmd: string, timeoutSec: number, o?: Opts): Promise<string | null> {
    return this.call(S.qemuDomainAgentCommand, { dom, cmd, timeout: timeoutSec, flags: 0 }, o);
  }
  domainGetGuestInfo(dom: Domain, types: number, o?: Opts): Promise<TypedParams> {
    return this.call(S.domainGetGuestInfo, { dom, types, flags: 0 }, o);
  }
}
