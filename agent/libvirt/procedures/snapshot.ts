import { Limits, Program } from '../protocol/constants.ts';
import type { Domain, DomainCheckpoint, DomainSnapshot, TypedParams } from '../protocol/types.ts';
import {
  readCheckpoint,
  readOptString,
  readSnapshot,
  readString,
  readTypedParams,
  writeCheckpoint,
  writeDomain,
  writeOptString,
  writeSnapshot,
  writeString,
} from '../protocol/types.ts';
import { defineProcedure } from '../rpc/procedure.ts';

/** Snapshots, checkpoints, backup, jobs, metadata, block info, guest agent (§5.5–5.8). */

type XdrW = Parameters<typeof writeDomain>[0];
const encSnapFlags = (w: XdrW, a: { snap: DomainSnapshot; flags: number }): void => {
  writeSnapshot(w, a.snap);
  w.uint32(a.flags);
};
const encCkptFlags = (w: XdrW, a: { ckpt: DomainCheckpoint; flags: number }): void => {
  writeCheckpoint(w, a.ckpt);
  w.uint32(a.flags);
};
const encDomFlags = (w: XdrW, a: { dom: Domain; flags: number }): void => {
  writeDomain(w, a.dom);
  w.uint32(a.flags);
};

export const domainSnapshotCreateXml = defineProcedure<
  { dom: Domain; xml: string; flags: number },
  DomainSnapshot
>({
  name: 'DOMAIN_SNAPSHOT_CREATE_XML',
  proc: 185,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.xml);
    w.uint32(a.flags);
  },
  decode: readSnapshot,
});

export const domainSnapshotGetXmlDesc = defineProcedure<
  { snap: DomainSnapshot; flags: number },
  string
>({
  name: 'DOMAIN_SNAPSHOT_GET_XML_DESC',
  proc: 186,
  encode: encSnapFlags,
  decode: readString,
});

export const domainSnapshotLookupByName = defineProcedure<
  { dom: Domain; name: string; flags: number },
  DomainSnapshot
>({
  name: 'DOMAIN_SNAPSHOT_LOOKUP_BY_NAME',
  proc: 189,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.name);
    w.uint32(a.flags);
  },
  decode: readSnapshot,
});

export const domainHasCurrentSnapshot = defineProcedure<{ dom: Domain; flags: number }, boolean>({
  name: 'DOMAIN_HAS_CURRENT_SNAPSHOT',
  proc: 190,
  encode: encDomFlags,
  decode: (r) => r.int32() !== 0,
});

export const domainSnapshotCurrent = defineProcedure<
  { dom: Domain; flags: number },
  DomainSnapshot
>({
  name: 'DOMAIN_SNAPSHOT_CURRENT',
  proc: 191,
  encode: encDomFlags,
  decode: readSnapshot,
});

export const domainRevertToSnapshot = defineProcedure<{ snap: DomainSnapshot; flags: number }>({
  name: 'DOMAIN_REVERT_TO_SNAPSHOT',
  proc: 192,
  encode: encSnapFlags,
});

export const domainSnapshotDelete = defineProcedure<{ snap: DomainSnapshot; flags: number }>({
  name: 'DOMAIN_SNAPSHOT_DELETE',
  proc: 193,
  encode: encSnapFlags,
});

export const domainSnapshotGetParent = defineProcedure<
  { snap: DomainSnapshot; flags: number },
  DomainSnapshot
>({
  name: 'DOMAIN_SNAPSHOT_GET_PARENT',
  proc: 244,
  encode: encSnapFlags,
  decode: readSnapshot,
});

export const domainListAllSnapshots = defineProcedure<
  { dom: Domain; needResults: boolean; flags: number },
  { snapshots: DomainSnapshot[]; count: number }
>({
  name: 'DOMAIN_LIST_ALL_SNAPSHOTS',
  proc: 274,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    w.int32(a.needResults ? 1 : 0);
    w.uint32(a.flags);
  },
  decode: (r) => ({ snapshots: r.array(Limits.SNAPSHOT_LIST_MAX, readSnapshot), count: r.int32() }),
});

export const domainCheckpointCreateXml = defineProcedure<
  { dom: Domain; xml: string; flags: number },
  DomainCheckpoint
>({
  name: 'DOMAIN_CHECKPOINT_CREATE_XML',
  proc: 411,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.xml);
    w.uint32(a.flags);
  },
  decode: readCheckpoint,
});

export const domainCheckpointGetXmlDesc = defineProcedure<
  { ckpt: DomainCheckpoint; flags: number },
  string
>({
  name: 'DOMAIN_CHECKPOINT_GET_XML_DESC',
  proc: 412,
  encode: encCkptFlags,
  decode: readString,
});

export const domainListAllCheckpoints = defineProcedure<
  { dom: Domain; needResults: boolean; flags: number },
  { checkpoints: DomainCheckpoint[]; count: number }
>({
  name: 'DOMAIN_LIST_ALL_CHECKPOINTS',
  proc: 413,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    w.int32(a.needResults ? 1 : 0);
    w.uint32(a.flags);
  },
  decode: (r) => ({
    checkpoints: r.array(Limits.CHECKPOINT_LIST_MAX, readCheckpoint),
    count: r.int32(),
  }),
});

export const domainCheckpointLookupByName = defineProcedure<
  { dom: Domain; name: string; flags: number },
  DomainCheckpoint
>({
  name: 'DOMAIN_CHECKPOINT_LOOKUP_BY_NAME',
  proc: 415,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.name);
    w.uint32(a.flags);
  },
  decode: readCheckpoint,
});

export const domainCheckpointDelete = defineProcedure<{ ckpt: DomainCheckpoint; flags: number }>({
  name: 'DOMAIN_CHECKPOINT_DELETE',
  proc: 417,
  encode: encCkptFlags,
});

export const domainBackupBegin = defineProcedure<{
  dom: Domain;
  backupXml: string;
  checkpointXml: string | null;
  flags: number;
}>({
  name: 'DOMAIN_BACKUP_BEGIN',
  proc: 421,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.backupXml);
    writeOptString(w, a.checkpointXml);
    w.uint32(a.flags);
  },
});

export const domainBackupGetXmlDesc = defineProcedure<{ dom: Domain; flags: number }, string>({
  name: 'DOMAIN_BACKUP_GET_XML_DESC',
  proc: 422,
  encode: encDomFlags,
  decode: readString,
});

/** DOMAIN_GET_JOB_INFO's ret: the job type and eleven counters. */
export interface JobInfo {
  readonly type: number;
  readonly timeElapsed: bigint;
  readonly timeRemaining: bigint;
  readonly dataTotal: bigint;
  readonly dataProcessed: bigint;
  readonly dataRemaining: bigint;
  readonly memTotal: bigint;
  readonly memProcessed: bigint;
  readonly memRemaining: bigint;
  readonly fileTotal: bigint;
  readonly fileProcessed: bigint;
  readonly fileRemaining: bigint;
}

export const domainGetJobInfo = defineProcedure<{ dom: Domain }, JobInfo>({
  name: 'DOMAIN_GET_JOB_INFO',
  proc: 163,
  encode: (w, a) => {
    writeDomain(w, a.dom);
  },
  decode: (r) => ({
    type: r.int32(),
    timeElapsed: r.uhyper(),
    timeRemaining: r.uhyper(),
    dataTotal: r.uhyper(),
    dataProcessed: r.uhyper(),
    dataRemaining: r.uhyper(),
    memTotal: r.uhyper(),
    memProcessed: r.uhyper(),
    memRemaining: r.uhyper(),
    fileTotal: r.uhyper(),
    fileProcessed: r.uhyper(),
    fileRemaining: r.uhyper(),
  }),
});

export const domainAbortJob = defineProcedure<{ dom: Domain }>({
  name: 'DOMAIN_ABORT_JOB',
  proc: 164,
  encode: (w, a) => {
    writeDomain(w, a.dom);
  },
});

export const domainGetJobStats = defineProcedure<
  { dom: Domain; flags: number },
  { type: number; params: TypedParams }
>({
  name: 'DOMAIN_GET_JOB_STATS',
  proc: 298,
  encode: encDomFlags,
  decode: (r) => ({ type: r.int32(), params: readTypedParams(r, Limits.JOB_STATS_MAX) }),
});

/** Block device sizes in bytes. */
export interface BlockInfo {
  readonly allocation: bigint;
  readonly capacity: bigint;
  readonly physical: bigint;
}

export const domainGetBlockInfo = defineProcedure<
  { dom: Domain; path: string; flags: number },
  BlockInfo
>({
  name: 'DOMAIN_GET_BLOCK_INFO',
  proc: 194,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.path);
    w.uint32(a.flags);
  },
  decode: (r) => ({ allocation: r.uhyper(), capacity: r.uhyper(), physical: r.uhyper() }),
});

/** virDomainMetadataType. */
export const MetadataType = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;

export const domainSetMetadata = defineProcedure<{
  dom: Domain;
  type: number;
  metadata: string | null;
  key: string | null;
  uri: string | null;
  flags: number;
}>({
  name: 'DOMAIN_SET_METADATA',
  proc: 264,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    w.int32(a.type);
    writeOptString(w, a.metadata);
    writeOptString(w, a.key);
    writeOptString(w, a.uri);
    w.uint32(a.flags);
  },
});

export const domainGetMetadata = defineProcedure<
  { dom: Domain; type: number; uri: string | null; flags: number },
  string
>({
  name: 'DOMAIN_GET_METADATA',
  proc: 265,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    w.int32(a.type);
    writeOptString(w, a.uri);
    w.uint32(a.flags);
  },
  decode: readString,
});

export const domainGetGuestInfo = defineProcedure<
  { dom: Domain; types: number; flags: number },
  TypedParams
>({
  name: 'DOMAIN_GET_GUEST_INFO',
  proc: 418,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    w.uint32(a.types);
    w.uint32(a.flags);
  },
  decode: (r) => readTypedParams(r, Limits.GUEST_INFO_PARAMS_MAX),
});

/** QEMU program, proc 3: a raw guest-agent command (JSON text in, JSON text out). */
export const qemuDomainAgentCommand = defineProcedure<
  { dom: Domain; cmd: string; timeout: number; flags: number },
  string | null
>({
  name: 'QEMU_DOMAIN_AGENT_COMMAND',
  prog: Program.QEMU,
  proc: 3,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.cmd);
    w.int32(a.timeout);
    w.uint32(a.flags);
  },
  decode: readOptString,
});
