import { LibvirtError, LibvirtErrorCode, LibvirtProtocolError } from '../errors.ts';
import type { RemoteErrorFields } from '../errors.ts';
import type { XdrReader } from '../xdr/reader.ts';
import type { XdrWriter } from '../xdr/writer.ts';
import { Limits } from './constants.ts';

/**
 * `remote_nonnull_domain`. The daemon resolves a domain by its UUID only (§8.7): the name and
 * id are informative and may be stale. The id is −1 while the domain is inactive.
 */
export interface Domain {
  readonly name: string;
  /** Lower-case hex, 8-4-4-4-12. */
  readonly uuid: string;
  readonly id: number;
}

/** `remote_nonnull_domain_snapshot`. */
export interface DomainSnapshot {
  readonly name: string;
  readonly domain: Domain;
}

/** `remote_nonnull_domain_checkpoint` (same shape as a snapshot). */
export interface DomainCheckpoint {
  readonly name: string;
  readonly domain: Domain;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Parsed UUIDs, so a domain used in many calls is parsed once (bounded; cleared when full). */
const uuidCache = new Map<string, Buffer>();
const UUID_CACHE_MAX = 16_384;

export function uuidToBytes(uuid: string): Buffer {
  const hit = uuidCache.get(uuid);
  if (hit) return hit;
  if (!UUID_RE.test(uuid)) {
    throw new LibvirtError(
      LibvirtErrorCode.INVALID_ARGUMENT,
      `Cannot use UUID ${JSON.stringify(uuid)}: expected 32 hex digits as 8-4-4-4-12`,
    );
  }
  const bytes = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  if (uuidCache.size >= UUID_CACHE_MAX) uuidCache.clear();
  uuidCache.set(uuid, bytes);
  return bytes;
}

export function uuidFromBytes(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function readString(r: XdrReader): string {
  return r.string(Limits.STRING_MAX);
}

export function readOptString(r: XdrReader): string | null {
  return r.optional(readString);
}

export function writeString(w: XdrWriter, s: string): void {
  w.string(s, Limits.STRING_MAX);
}

export function writeOptString(w: XdrWriter, s: string | null | undefined): void {
  w.optional(s, writeString);
}

export function readDomain(r: XdrReader): Domain {
  const name = readString(r);
  const uuid = uuidFromBytes(r.fixedOpaque(16));
  const id = r.int32();
  return { name, uuid, id };
}

export function writeDomain(w: XdrWriter, d: Pick<Domain, 'uuid'> & Partial<Domain>): void {
  writeString(w, d.name ?? '');
  w.fixedOpaque(uuidToBytes(d.uuid), 16);
  w.int32(d.id ?? -1);
}

export function readSnapshot(r: XdrReader): DomainSnapshot {
  const name = readString(r);
  return { name, domain: readDomain(r) };
}

export function writeSnapshot(w: XdrWriter, s: { name: string; domain: Domain }): void {
  writeString(w, s.name);
  writeDomain(w, s.domain);
}

export const readCheckpoint: (r: XdrReader) => DomainCheckpoint = readSnapshot;
export const writeCheckpoint: (w: XdrWriter, c: { name: string; domain: Domain }) => void =
  writeSnapshot;

/** A typed parameter value (`remote_typed_param_value`). 64-bit integers are bigint. */
export type TypedParamValue = number | bigint | boolean | string;
/** Typed parameters keyed by field name, in wire order. */
export type TypedParams = Record<string, TypedParamValue>;

/** virTypedParameterType codes. */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

/** Reads `remote_typed_param params<max>` into an object. Unknown type codes are fatal. */
export function readTypedParams(r: XdrReader, max: number): TypedParams {
  const out: TypedParams = Object.create(null) as TypedParams;
  const count = r.uint32();
  if (count > max) {
    throw new LibvirtProtocolError(`Cannot decode typed params: ${count} exceeds maximum ${max}`);
  }
  if (count * 12 > r.remaining) {
    throw new LibvirtProtocolError(`Cannot decode typed params: ${count} entries do not fit`);
  }
  for (let i = 0; i < count; i++) {
    const field = readString(r);
    const type = r.int32();
    let value: TypedParamValue;
    switch (type) {
      case TypedParamType.INT:
        value = r.int32();
        break;
      case TypedParamType.UINT:
        value = r.uint32();
        break;
      case TypedParamType.LLONG:
        value = r.hyper();
        break;
      case TypedParamType.ULLONG:
        value = r.uhyper();
        break;
      case TypedParamType.DOUBLE:
        value = r.double();
        break;
      case TypedParamType.BOOLEAN:
        value = r.int32() !== 0;
        break;
      case TypedParamType.STRING:
        value = readString(r);
        break;
      default:
        throw new LibvirtProtocolError(
          `Cannot decode typed param ${JSON.stringify(field)}: unknown type code ${type}`,
        );
    }
    out[field] = value;
  }
  return out;
}

/** One typed parameter to send, with its explicit wire type. */
export interface TypedParamInput {
  readonly field: string;
  readonly type: (typeof TypedParamType)[keyof typeof TypedParamType];
  readonly value: TypedParamValue;
}

export function writeTypedParams(
  w: XdrWriter,
  params: readonly TypedParamInput[],
  max: number,
): void {
  w.array(params, max, (_w, p) => {
    writeString(w, p.field);
    w.int32(p.type);
    const bad = (): never => {
      throw new LibvirtError(
        LibvirtErrorCode.INVALID_ARGUMENT,
        `Cannot encode typed param ${p.field}: value ${String(p.value)} does not match type ${p.type}`,
      );
    };
    switch (p.type) {
      case TypedParamType.INT:
        w.int32(typeof p.value === 'number' ? p.value : bad());
        break;
      case TypedParamType.UINT:
        w.uint32(typeof p.value === 'number' ? p.value : bad());
        break;
      case TypedParamType.LLONG:
        w.hyper(
          typeof p.value === 'bigint'
            ? p.value
            : BigInt(typeof p.value === 'number' ? p.value : bad()),
        );
        break;
      case TypedParamType.ULLONG:
        w.uhyper(
          typeof p.value === 'bigint'
            ? p.value
            : BigInt(typeof p.value === 'number' ? p.value : bad()),
        );
        break;
      case TypedParamType.DOUBLE:
        w.double(typeof p.value === 'number' ? p.value : bad());
        break;
      case TypedParamType.BOOLEAN:
        w.int32(typeof p.value === 'boolean' ? (p.value ? 1 : 0) : bad());
        break;
      case TypedParamType.STRING:
        writeString(w, typeof p.value === 'string' ? p.value : bad());
        break;
    }
  });
}

/** Decodes `remote_error` (§1.6), the payload of a REPLY with status ERROR. */
export function readRemoteError(r: XdrReader): RemoteErrorFields {
  const code = r.int32();
  const domain = r.int32();
  const message = readOptString(r);
  const level = r.int32();
  r.optional(readDomain); // dom: unused by the daemon
  const str1 = readOptString(r);
  const str2 = readOptString(r);
  const str3 = readOptString(r);
  const int1 = r.int32();
  const int2 = r.int32();
  r.optional((rr) => {
    readString(rr);
    return rr.fixedOpaque(16);
  }); // net: unused
  return { code, domain, message, level, str1, str2, str3, int1, int2 };
}
