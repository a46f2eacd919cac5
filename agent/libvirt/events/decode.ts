import { Limits } from '../protocol/constants.ts';
import type { Domain, TypedParams } from '../protocol/types.ts';
import { readDomain, readOptString, readString, readTypedParams } from '../protocol/types.ts';
import {
  AGENT_REASONS,
  AGENT_STATES,
  BLOCK_JOB_STATUSES,
  BLOCK_JOB_TYPES,
  IO_ERROR_ACTIONS,
  JOB_OPERATIONS,
  lifecycleDetailName,
  lifecycleEventName,
  MEMORY_FAILURE_ACTIONS,
  MEMORY_FAILURE_RECIPIENTS,
  nameOf,
  WATCHDOG_ACTIONS,
} from '../protocol/enums.ts';
import type { XdrReader } from '../xdr/reader.ts';

/**
 * Every domain event carries the domain, the event's name, and a `type` and `detail` by name
 * (what `virt-ft events` prints); the raw codes and event-specific fields come alongside.
 */
interface EventBase {
  readonly callbackId: number;
  readonly domain: Domain;
  /** When the client decoded it (the daemon sends no timestamp). */
  readonly time: Date;
  readonly type: string | null;
  readonly detail: string | null;
}

export type DomainEvent =
  | (EventBase & {
      readonly event: 'lifecycle';
      readonly typeCode: number;
      readonly detailCode: number;
    })
  | (EventBase & { readonly event: 'reboot' })
  | (EventBase & { readonly event: 'rtc-change'; readonly offset: bigint })
  | (EventBase & { readonly event: 'watchdog'; readonly action: number })
  | (EventBase & {
      readonly event: 'io-error' | 'io-error-reason';
      readonly srcPath: string;
      readonly devAlias: string;
      readonly action: number;
      readonly reason: string | null;
    })
  | (EventBase & { readonly event: 'control-error' })
  | (EventBase & {
      readonly event: 'block-job' | 'block-job-2';
      readonly disk: string;
      readonly jobType: number;
      readonly status: number;
    })
  | (EventBase & { readonly event: 'device-removed' | 'device-added'; readonly devAlias: string })
  | (EventBase & {
      readonly event: 'agent-lifecycle';
      readonly state: number;
      readonly reason: number;
    })
  | (EventBase & { readonly event: 'job-completed'; readonly params: TypedParams })
  | (EventBase & {
      readonly event: 'metadata-change';
      readonly metadataType: number;
      readonly nsUri: string | null;
    })
  | (EventBase & {
      readonly event: 'memory-failure';
      readonly recipient: number;
      readonly action: number;
      readonly flags: number;
    });

export type DomainEventName = DomainEvent['event'];

interface EventSpec {
  /** virDomainEventID, used to register. */
  readonly id: number;
  /** The MESSAGE procedure that carries it. */
  readonly proc: number;
  readonly decode: (r: XdrReader, callbackId: number, time: Date) => DomainEvent;
}

const base = (
  callbackId: number,
  domain: Domain,
  time: Date,
  type: string | null,
  detail: string | null,
) => ({
  callbackId,
  domain,
  time,
  type,
  detail,
});

function ioError(name: 'io-error' | 'io-error-reason') {
  return (r: XdrReader, cb: number, t: Date): DomainEvent => {
    const domain = readDomain(r);
    const srcPath = readString(r);
    const devAlias = readString(r);
    const action = r.int32();
    const reason = name === 'io-error-reason' ? readString(r) : null;
    return {
      ...base(cb, domain, t, nameOf(IO_ERROR_ACTIONS, action), reason ?? devAlias),
      event: name,
      srcPath,
      devAlias,
      action,
      reason,
    };
  };
}

function blockJob(name: 'block-job' | 'block-job-2') {
  return (r: XdrReader, cb: number, t: Date): DomainEvent => {
    const domain = readDomain(r);
    const disk = readString(r);
    const jobType = r.int32();
    const status = r.int32();
    return {
      ...base(cb, domain, t, nameOf(BLOCK_JOB_TYPES, jobType), nameOf(BLOCK_JOB_STATUSES, status)),
      event: name,
      disk,
      jobType,
      status,
    };
  };
}

function device(name: 'device-removed' | 'device-added') {
  return (r: XdrReader, cb: number, t: Date): DomainEvent => {
    const domain = readDomain(r);
    const devAlias = readString(r);
    return { ...base(cb, domain, t, null, devAlias), event: name, devAlias };
  };
}

/** The events the client decodes, by name (libvirt-rpc.md §5.10). */
export const EVENT_SPECS: Readonly<Record<DomainEventName, EventSpec>> = {
  lifecycle: {
    id: 0,
    proc: 318,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const typeCode = r.int32();
      const detailCode = r.int32();
      return {
        ...base(
          cb,
          domain,
          t,
          lifecycleEventName(typeCode),
          lifecycleDetailName(typeCode, detailCode),
        ),
        event: 'lifecycle',
        typeCode,
        detailCode,
      };
    },
  },
  reboot: {
    id: 1,
    proc: 319,
    decode: (r, cb, t) => ({ ...base(cb, readDomain(r), t, null, null), event: 'reboot' }),
  },
  'rtc-change': {
    id: 2,
    proc: 320,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const offset = r.hyper();
      return { ...base(cb, domain, t, null, String(offset)), event: 'rtc-change', offset };
    },
  },
  watchdog: {
    id: 3,
    proc: 321,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const action = r.int32();
      return {
        ...base(cb, domain, t, nameOf(WATCHDOG_ACTIONS, action), null),
        event: 'watchdog',
        action,
      };
    },
  },
  'io-error': { id: 4, proc: 322, decode: ioError('io-error') },
  'io-error-reason': { id: 6, proc: 324, decode: ioError('io-error-reason') },
  'control-error': {
    id: 7,
    proc: 325,
    decode: (r, cb, t) => ({ ...base(cb, readDomain(r), t, null, null), event: 'control-error' }),
  },
  'block-job': { id: 8, proc: 326, decode: blockJob('block-job') },
  'device-removed': { id: 15, proc: 333, decode: device('device-removed') },
  'block-job-2': { id: 16, proc: 339, decode: blockJob('block-job-2') },
  'agent-lifecycle': {
    id: 18,
    proc: 348,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const state = r.int32();
      const reason = r.int32();
      return {
        ...base(cb, domain, t, nameOf(AGENT_STATES, state), nameOf(AGENT_REASONS, reason)),
        event: 'agent-lifecycle',
        state,
        reason,
      };
    },
  },
  'device-added': { id: 19, proc: 354, decode: device('device-added') },
  'job-completed': {
    id: 21,
    proc: 363,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const params = readTypedParams(r, Limits.JOB_STATS_MAX);
      const op = params['operation'];
      const ok = params['success'];
      return {
        ...base(
          cb,
          domain,
          t,
          typeof op === 'number' ? nameOf(JOB_OPERATIONS, op) : null,
          typeof ok === 'boolean' ? (ok ? 'Success' : 'Failed') : null,
        ),
        event: 'job-completed',
        params,
      };
    },
  },
  'metadata-change': {
    id: 23,
    proc: 379,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const metadataType = r.int32();
      const nsUri = readOptString(r);
      return {
        ...base(cb, domain, t, nameOf(['Description', 'Title', 'Element'], metadataType), nsUri),
        event: 'metadata-change',
        metadataType,
        nsUri,
      };
    },
  },
  'memory-failure': {
    id: 25,
    proc: 423,
    decode: (r, cb, t) => {
      const domain = readDomain(r);
      const recipient = r.int32();
      const action = r.int32();
      const flags = r.uint32();
      return {
        ...base(
          cb,
          domain,
          t,
          nameOf(MEMORY_FAILURE_ACTIONS, action),
          nameOf(MEMORY_FAILURE_RECIPIENTS, recipient),
        ),
        event: 'memory-failure',
        recipient,
        action,
        flags,
      };
    },
  },
};

export const ALL_EVENT_NAMES = Object.keys(EVENT_SPECS) as DomainEventName[];

/** The events the agent watches by default (the list). */
export const DEFAULT_EVENT_NAMES: readonly DomainEventName[] = [
  'lifecycle',
  'reboot',
  'watchdog',
  'io-error',
  'io-error-reason',
  'control-error',
  'block-job-2',
  'job-completed',
  'agent-lifecycle',
  'device-removed',
  'memory-failure',
  'metadata-change',
];

const SPEC_BY_PROC = new Map<number, EventSpec>(Object.values(EVENT_SPECS).map((s) => [s.proc, s]));

export function eventSpecByProc(proc: number): EventSpec | undefined {
  return SPEC_BY_PROC.get(proc);
}

/** CONNECT_EVENT_CONNECTION_CLOSED: the daemon lost its own driver connection (virtproxyd). */
export const CONNECTION_CLOSED_PROC = 362;
