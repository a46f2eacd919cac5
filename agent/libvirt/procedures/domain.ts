import { Limits } from '../protocol/constants.ts';
import type { Domain, TypedParamInput, TypedParams } from '../protocol/types.ts';
import {
  readDomain,
  readString,
  readTypedParams,
  uuidToBytes,
  writeDomain,
  writeOptString,
  writeString,
  writeTypedParams,
} from '../protocol/types.ts';
import { defineProcedure } from '../rpc/procedure.ts';

/** Domain listing, lookup, state, lifecycle and save procedures (libvirt-rpc.md §5.2–5.4). */

type DomFlags = { dom: Domain; flags: number };
const encDom = (w: Parameters<typeof writeDomain>[0], a: { dom: Domain }): void => {
  writeDomain(w, a.dom);
};
const encDomFlags = (w: Parameters<typeof writeDomain>[0], a: DomFlags): void => {
  writeDomain(w, a.dom);
  w.uint32(a.flags);
};

export const domainGetXmlDesc = defineProcedure<DomFlags, string>({
  name: 'DOMAIN_GET_XML_DESC',
  proc: 14,
  encode: encDomFlags,
  decode: readString,
});

/** DOMAIN_GET_INFO's ret (uchar and ushort take 4 bytes each on the wire). */
export interface DomainInfo {
  readonly state: number;
  readonly maxMemKiB: bigint;
  readonly memoryKiB: bigint;
  readonly nrVirtCpu: number;
  readonly cpuTimeNs: bigint;
}

export const domainGetInfo = defineProcedure<{ dom: Domain }, DomainInfo>({
  name: 'DOMAIN_GET_INFO',
  proc: 16,
  encode: encDom,
  decode: (r) => ({
    state: r.uint32() & 0xff,
    maxMemKiB: r.uhyper(),
    memoryKiB: r.uhyper(),
    nrVirtCpu: r.uint32() & 0xffff,
    cpuTimeNs: r.uhyper(),
  }),
});

export const domainLookupById = defineProcedure<number, Domain>({
  name: 'DOMAIN_LOOKUP_BY_ID',
  proc: 22,
  encode: (w, id) => w.int32(id),
  decode: readDomain,
});

export const domainLookupByName = defineProcedure<string, Domain>({
  name: 'DOMAIN_LOOKUP_BY_NAME',
  proc: 23,
  encode: (w, name) => {
    writeString(w, name);
  },
  decode: readDomain,
});

export const domainLookupByUuid = defineProcedure<string, Domain>({
  name: 'DOMAIN_LOOKUP_BY_UUID',
  proc: 24,
  encode: (w, uuid) => w.fixedOpaque(uuidToBytes(uuid), 16),
  decode: readDomain,
});

export const domainIsActive = defineProcedure<{ dom: Domain }, boolean>({
  name: 'DOMAIN_IS_ACTIVE',
  proc: 150,
  encode: encDom,
  decode: (r) => r.int32() !== 0,
});

export const domainIsPersistent = defineProcedure<{ dom: Domain }, boolean>({
  name: 'DOMAIN_IS_PERSISTENT',
  proc: 151,
  encode: encDom,
  decode: (r) => r.int32() !== 0,
});

export const domainGetState = defineProcedure<DomFlags, { state: number; reason: number }>({
  name: 'DOMAIN_GET_STATE',
  proc: 212,
  encode: encDomFlags,
  decode: (r) => ({ state: r.int32(), reason: r.int32() }),
});

export const connectListAllDomains = defineProcedure<
  { needResults: boolean; flags: number },
  { domains: Domain[]; count: number }
>({
  name: 'CONNECT_LIST_ALL_DOMAINS',
  proc: 273,
  encode: (w, a) => {
    w.int32(a.needResults ? 1 : 0);
    w.uint32(a.flags);
  },
  decode: (r) => ({ domains: r.array(Limits.DOMAIN_LIST_MAX, readDomain), count: r.uint32() }),
});

/** One record of CONNECT_GET_ALL_DOMAIN_STATS. */
export interface DomainStatsRecord {
  readonly domain: Domain;
  readonly params: TypedParams;
}

export const connectGetAllDomainStats = defineProcedure<
  { doms: readonly Domain[]; stats: number; flags: number },
  DomainStatsRecord[]
>({
  name: 'CONNECT_GET_ALL_DOMAIN_STATS',
  proc: 344,
  encode: (w, a) => {
    w.array(a.doms, Limits.DOMAIN_LIST_MAX, (ww, d) => {
      writeDomain(ww, d);
    });
    w.uint32(a.stats);
    w.uint32(a.flags);
  },
  decode: (r) =>
    r.array(Limits.DOMAIN_LIST_MAX, (rr) => ({
      domain: readDomain(rr),
      params: readTypedParams(rr, Limits.STATS_PARAMS_MAX),
    })),
});

export const domainCreate = defineProcedure<{ dom: Domain }>({
  name: 'DOMAIN_CREATE',
  proc: 9,
  encode: encDom,
});

export const domainCreateXml = defineProcedure<{ xml: string; flags: number }, Domain>({
  name: 'DOMAIN_CREATE_XML',
  proc: 10,
  encode: (w, a) => {
    writeString(w, a.xml);
    w.uint32(a.flags);
  },
  decode: readDomain,
});

export const domainDefineXml = defineProcedure<string, Domain>({
  name: 'DOMAIN_DEFINE_XML',
  proc: 11,
  encode: (w, xml) => {
    writeString(w, xml);
  },
  decode: readDomain,
});

export const domainDestroy = defineProcedure<{ dom: Domain }>({
  name: 'DOMAIN_DESTROY',
  proc: 12,
  encode: encDom,
});

export const domainGetAutostart = defineProcedure<{ dom: Domain }, boolean>({
  name: 'DOMAIN_GET_AUTOSTART',
  proc: 15,
  encode: encDom,
  decode: (r) => r.int32() !== 0,
});

export const domainReboot = defineProcedure<DomFlags>({
  name: 'DOMAIN_REBOOT',
  proc: 27,
  encode: encDomFlags,
});
export const domainResume = defineProcedure<{ dom: Domain }>({
  name: 'DOMAIN_RESUME',
  proc: 28,
  encode: encDom,
});

export const domainSetAutostart = defineProcedure<{ dom: Domain; autostart: boolean }>({
  name: 'DOMAIN_SET_AUTOSTART',
  proc: 29,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    w.int32(a.autostart ? 1 : 0);
  },
});

export const domainShutdown = defineProcedure<{ dom: Domain }>({
  name: 'DOMAIN_SHUTDOWN',
  proc: 33,
  encode: encDom,
});
export const domainSuspend = defineProcedure<{ dom: Domain }>({
  name: 'DOMAIN_SUSPEND',
  proc: 34,
  encode: encDom,
});

export const domainCreateWithFlags = defineProcedure<DomFlags, Domain>({
  name: 'DOMAIN_CREATE_WITH_FLAGS',
  proc: 196,
  encode: encDomFlags,
  decode: readDomain,
});

export const domainUndefineFlags = defineProcedure<DomFlags>({
  name: 'DOMAIN_UNDEFINE_FLAGS',
  proc: 231,
  encode: encDomFlags,
});

export const domainDestroyFlags = defineProcedure<DomFlags>({
  name: 'DOMAIN_DESTROY_FLAGS',
  proc: 234,
  encode: encDomFlags,
});

export const domainReset = defineProcedure<DomFlags>({
  name: 'DOMAIN_RESET',
  proc: 245,
  encode: encDomFlags,
});

export const domainShutdownFlags = defineProcedure<DomFlags>({
  name: 'DOMAIN_SHUTDOWN_FLAGS',
  proc: 258,
  encode: encDomFlags,
});

export const domainDefineXmlFlags = defineProcedure<{ xml: string; flags: number }, Domain>({
  name: 'DOMAIN_DEFINE_XML_FLAGS',
  proc: 350,
  encode: (w, a) => {
    writeString(w, a.xml);
    w.uint32(a.flags);
  },
  decode: readDomain,
});

export const domainSave = defineProcedure<{ dom: Domain; to: string }>({
  name: 'DOMAIN_SAVE',
  proc: 55,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.to);
  },
});

export const domainRestore = defineProcedure<string>({
  name: 'DOMAIN_RESTORE',
  proc: 54,
  encode: (w, from) => {
    writeString(w, from);
  },
});

export const domainManagedSave = defineProcedure<DomFlags>({
  name: 'DOMAIN_MANAGED_SAVE',
  proc: 182,
  encode: encDomFlags,
});

export const domainHasManagedSaveImage = defineProcedure<DomFlags, boolean>({
  name: 'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
  proc: 183,
  encode: encDomFlags,
  decode: (r) => r.int32() !== 0,
});

export const domainManagedSaveRemove = defineProcedure<DomFlags>({
  name: 'DOMAIN_MANAGED_SAVE_REMOVE',
  proc: 184,
  encode: encDomFlags,
});

export const domainSaveFlags = defineProcedure<{
  dom: Domain;
  to: string;
  dxml: string | null;
  flags: number;
}>({
  name: 'DOMAIN_SAVE_FLAGS',
  proc: 232,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeString(w, a.to);
    writeOptString(w, a.dxml);
    w.uint32(a.flags);
  },
});

export const domainRestoreFlags = defineProcedure<{
  from: string;
  dxml: string | null;
  flags: number;
}>({
  name: 'DOMAIN_RESTORE_FLAGS',
  proc: 233,
  encode: (w, a) => {
    writeString(w, a.from);
    writeOptString(w, a.dxml);
    w.uint32(a.flags);
  },
});

export const domainSaveParams = defineProcedure<{
  dom: Domain;
  params: readonly TypedParamInput[];
  flags: number;
}>({
  name: 'DOMAIN_SAVE_PARAMS',
  proc: 440,
  encode: (w, a) => {
    writeDomain(w, a.dom);
    writeTypedParams(w, a.params, Limits.SAVE_PARAMS_MAX);
    w.uint32(a.flags);
  },
});

/** DOMAIN_GET_CONTROL_INFO's ret: is libvirt in control of QEMU's monitor right now? */
export interface ControlInfo {
  /** virDomainControlState: 0 OK, 1 JOB, 2 OCCUPIED (a monitor command is pending), 3 ERROR. */
  readonly state: number;
  /** For ERROR: 0 NONE, 1 UNKNOWN, 2 MONITOR (monitor connection broken), 3 INTERNAL. */
  readonly details: number;
  /** Milliseconds spent in the current state (0 for OK). */
  readonly stateTimeMs: bigint;
}

/** Answered from libvirt's own bookkeeping (priority:high), never from the monitor: safe to poll. */
export const domainGetControlInfo = defineProcedure<DomFlags, ControlInfo>({
  name: 'DOMAIN_GET_CONTROL_INFO',
  proc: 229,
  encode: encDomFlags,
  decode: (r) => ({ state: r.uint32(), details: r.uint32(), stateTimeMs: r.uhyper() }),
});
