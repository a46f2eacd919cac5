import { Limits } from '../protocol/constants.ts';
import { readDomain, readString, writeDomain, writeOptString } from '../protocol/types.ts';
import type { Domain } from '../protocol/types.ts';
import { defineProcedure } from '../rpc/procedure.ts';

/** Host and connection procedures (libvirt-rpc.md §5.1). */

export const connectOpen = defineProcedure<{ name: string | null; flags: number }>({
  name: 'CONNECT_OPEN',
  proc: 1,
  encode: (w, a) => {
    writeOptString(w, a.name);
    w.uint32(a.flags);
  },
});

export const connectClose = defineProcedure({ name: 'CONNECT_CLOSE', proc: 2 });

export const connectGetType = defineProcedure<undefined, string>({
  name: 'CONNECT_GET_TYPE',
  proc: 3,
  decode: readString,
});

export const connectGetVersion = defineProcedure<undefined, bigint>({
  name: 'CONNECT_GET_VERSION',
  proc: 4,
  decode: (r) => r.uhyper(),
});

/** NODE_GET_INFO's ret; `model` is `char[32]`, one character per 4-byte int. */
export interface NodeInfo {
  readonly model: string;
  /** KiB. */
  readonly memoryKiB: bigint;
  readonly cpus: number;
  readonly mhz: number;
  readonly nodes: number;
  readonly sockets: number;
  readonly cores: number;
  readonly threads: number;
}

export const nodeGetInfo = defineProcedure<undefined, NodeInfo>({
  name: 'NODE_GET_INFO',
  proc: 6,
  decode: (r) => {
    const chars: number[] = [];
    for (let i = 0; i < 32; i++) chars.push(r.int32() & 0xff);
    const end = chars.indexOf(0);
    const model = Buffer.from(end >= 0 ? chars.slice(0, end) : chars).toString('latin1');
    return {
      model,
      memoryKiB: r.uhyper(),
      cpus: r.int32(),
      mhz: r.int32(),
      nodes: r.int32(),
      sockets: r.int32(),
      cores: r.int32(),
      threads: r.int32(),
    };
  },
});

export const connectGetHostname = defineProcedure<undefined, string>({
  name: 'CONNECT_GET_HOSTNAME',
  proc: 59,
  decode: readString,
});

export const connectSupportsFeature = defineProcedure<number, boolean>({
  name: 'CONNECT_SUPPORTS_FEATURE',
  proc: 60,
  encode: (w, feature) => w.int32(feature),
  decode: (r) => r.int32() !== 0,
});

export const authList = defineProcedure<undefined, number[]>({
  name: 'AUTH_LIST',
  proc: 66,
  decode: (r) => r.array(Limits.AUTH_TYPE_LIST_MAX, (rr) => rr.int32()),
});

export const authPolkit = defineProcedure<undefined, boolean>({
  name: 'AUTH_POLKIT',
  proc: 70,
  decode: (r) => r.int32() !== 0,
});

export const connectGetUri = defineProcedure<undefined, string>({
  name: 'CONNECT_GET_URI',
  proc: 110,
  decode: readString,
});

export const connectGetLibVersion = defineProcedure<undefined, bigint>({
  name: 'CONNECT_GET_LIB_VERSION',
  proc: 157,
  decode: (r) => r.uhyper(),
});

export const connectRegisterCloseCallback = defineProcedure({
  name: 'CONNECT_REGISTER_CLOSE_CALLBACK',
  proc: 360,
});

export const connectUnregisterCloseCallback = defineProcedure({
  name: 'CONNECT_UNREGISTER_CLOSE_CALLBACK',
  proc: 361,
});

export const connectDomainEventCallbackRegisterAny = defineProcedure<
  { eventId: number; domain: Domain | null },
  number
>({
  name: 'CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY',
  proc: 316,
  encode: (w, a) => {
    w.int32(a.eventId);
    w.optional(a.domain, writeDomain);
  },
  decode: (r) => r.int32(),
});

export const connectDomainEventCallbackDeregisterAny = defineProcedure<number>({
  name: 'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY',
  proc: 317,
  encode: (w, id) => w.int32(id),
});

/** Re-exported so callers of the list call can name the element type. */
export type { Domain };
export { readDomain };
