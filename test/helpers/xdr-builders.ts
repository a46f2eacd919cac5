/**
 * One-line builders for XDR values and whole libvirt frames, for tests and the fake daemon.
 *
 * Deliberately independent of agent/libvirt: the constants are repeated here and nothing is
 * imported from the code under test, so a mistake there cannot hide in the fixtures too.
 * Every builder returns a fresh Buffer; `cat` joins them.
 */

export const PROG_REMOTE = 0x20008086;
export const PROG_QEMU = 0x20008087;
export const PROG_KEEPALIVE = 0x6b656570;

export const T_CALL = 0;
export const T_REPLY = 1;
export const T_MESSAGE = 2;
export const T_STREAM = 3;
export const T_REPLY_WITH_FDS = 5;

export const S_OK = 0;
export const S_ERROR = 1;
export const S_CONTINUE = 2;

/** Procedure numbers the tests use (remote_protocol.x). */
export const Proc = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  CONNECT_GET_TYPE: 3,
  CONNECT_GET_HOSTNAME: 59,
  CONNECT_SUPPORTS_FEATURE: 60,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_GET_STATE: 212,
  CONNECT_LIST_ALL_DOMAINS: 273,
  EVENT_REGISTER_ANY: 316,
  EVENT_DEREGISTER_ANY: 317,
  CONNECT_REGISTER_CLOSE_CALLBACK: 360,
  CONNECT_EVENT_CONNECTION_CLOSED: 362,
} as const;

/** Event message procedures (§5.10). */
export const EventProc = {
  LIFECYCLE: 318,
  REBOOT: 319,
  RTC_CHANGE: 320,
  WATCHDOG: 321,
  IO_ERROR: 322,
  IO_ERROR_REASON: 324,
  CONTROL_ERROR: 325,
  BLOCK_JOB: 326,
  PMSUSPEND: 330,
  DEVICE_REMOVED: 333,
  BLOCK_JOB_2: 339,
  AGENT_LIFECYCLE: 348,
  DEVICE_ADDED: 354,
  JOB_COMPLETED: 363,
  METADATA_CHANGE: 379,
  MEMORY_FAILURE: 423,
} as const;

/**
 * Bytes from hex text. Everything after `//` on a line is a comment; spaces and `|` are
 * ignored. Usable as a tag: hex`0000001c // length`.
 */
export function hex(text: TemplateStringsArray | string, ...values: unknown[]): Buffer {
  const raw =
    typeof text === 'string'
      ? text
      : text.raw.reduce(
          (acc, part, i) => acc + part + (i < values.length ? String(values[i]) : ''),
          '',
        );
  const digits = raw
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''))
    .join('')
    .replace(/[\s|]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) {
    throw new Error(`hex fixture has a non-hex character or an odd digit count: ${digits}`);
  }
  return Buffer.from(digits, 'hex');
}

export function cat(...parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

export function hyper(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}

export function uhyper(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

export function dbl(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
}

export function pad(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

/** `opaque[n]`: the bytes and zero padding, no length. */
export function fixed(bytes: Uint8Array): Buffer {
  return cat(bytes, pad(bytes.length));
}

/** `opaque<>`: length, bytes, padding. */
export function opaque(bytes: Uint8Array): Buffer {
  return cat(u32(bytes.length), fixed(bytes));
}

/** `string<>`: byte length, UTF-8 bytes, padding. */
export function str(s: string): Buffer {
  return opaque(Buffer.from(s, 'utf8'));
}

/** `T *x`: flag 0, or flag 1 and the value. */
export function opt(value: Buffer | null): Buffer {
  return value === null ? u32(0) : cat(u32(1), value);
}

export function optStr(s: string | null): Buffer {
  return opt(s === null ? null : str(s));
}

/** `T x<>`: count, then the elements. */
export function arr(items: readonly Buffer[]): Buffer {
  return cat(u32(items.length), ...items);
}

export function uuid(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

export const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

/** `remote_nonnull_domain`: name, 16-byte uuid, id. */
export function dom(name = 'test', id = 1, uuidText = TEST_UUID): Buffer {
  return cat(str(name), uuid(uuidText), i32(id));
}

/** `remote_typed_param` with an explicit type code and already-encoded value. */
export function tpRaw(field: string, type: number, value: Buffer): Buffer {
  return cat(str(field), i32(type), value);
}

export const tp = {
  int: (f: string, v: number) => tpRaw(f, 1, i32(v)),
  uint: (f: string, v: number) => tpRaw(f, 2, u32(v)),
  llong: (f: string, v: bigint) => tpRaw(f, 3, hyper(v)),
  ullong: (f: string, v: bigint) => tpRaw(f, 4, uhyper(v)),
  double: (f: string, v: number) => tpRaw(f, 5, dbl(v)),
  boolean: (f: string, v: boolean) => tpRaw(f, 6, i32(v ? 1 : 0)),
  string: (f: string, v: string) => tpRaw(f, 7, str(v)),
};

export interface RemoteErrorInput {
  code?: number;
  domain?: number;
  message?: string | null;
  level?: number;
  str1?: string | null;
  str2?: string | null;
  str3?: string | null;
  int1?: number;
  int2?: number;
}

/** `remote_error` (§1.6); dom and net absent, as the daemon sends them. */
export function remoteError(e: RemoteErrorInput = {}): Buffer {
  return cat(
    i32(e.code ?? 1),
    i32(e.domain ?? 7),
    optStr(e.message === undefined ? 'internal error: fake' : e.message),
    i32(e.level ?? 2),
    u32(0), // dom absent
    optStr(e.str1 ?? null),
    optStr(e.str2 ?? null),
    optStr(e.str3 ?? null),
    i32(e.int1 ?? -1),
    i32(e.int2 ?? -1),
    u32(0), // net absent
  );
}

export interface HeaderInput {
  prog?: number;
  vers?: number;
  proc: number;
  type?: number;
  serial?: number;
  status?: number;
}

/** A whole frame: length word (counting itself), six header words, payload. */
export function frame(h: HeaderInput, ...payload: readonly Buffer[]): Buffer {
  const body = cat(...payload);
  return cat(
    u32(28 + body.length),
    u32(h.prog ?? PROG_REMOTE),
    u32(h.vers ?? 1),
    i32(h.proc),
    i32(h.type ?? T_CALL),
    u32(h.serial ?? 0),
    i32(h.status ?? S_OK),
    body,
  );
}

export const reply = (proc: number, serial: number, ...payload: Buffer[]): Buffer =>
  frame({ proc, serial, type: T_REPLY }, ...payload);

export const errorReply = (proc: number, serial: number, e: RemoteErrorInput = {}): Buffer =>
  frame({ proc, serial, type: T_REPLY, status: S_ERROR }, remoteError(e));

/** An event message as the daemon sends it: REMOTE, MESSAGE, serial 1. */
export const eventFrame = (proc: number, ...payload: Buffer[]): Buffer =>
  frame({ proc, serial: 1, type: T_MESSAGE }, ...payload);

export const PING = (): Buffer => frame({ prog: PROG_KEEPALIVE, proc: 1, type: T_MESSAGE });
export const PONG = (): Buffer => frame({ prog: PROG_KEEPALIVE, proc: 2, type: T_MESSAGE });

/** The six header words and payload of a whole frame (the fake's decoder). */
export interface ParsedFrame {
  readonly length: number;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly type: number;
  readonly serial: number;
  readonly status: number;
  readonly payload: Buffer;
  readonly raw: Buffer;
}

export function parseFrame(raw: Buffer): ParsedFrame {
  return {
    length: raw.readUInt32BE(0),
    prog: raw.readUInt32BE(4),
    vers: raw.readUInt32BE(8),
    proc: raw.readInt32BE(12),
    type: raw.readInt32BE(16),
    serial: raw.readUInt32BE(20),
    status: raw.readInt32BE(24),
    payload: raw.subarray(28),
    raw,
  };
}

/** Every split of `bytes` into two chunks, plus the byte-by-byte split. */
export function* splits(bytes: Buffer): Generator<Buffer[]> {
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield [...bytes].map((b) => Buffer.of(b));
}
