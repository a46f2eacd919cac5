/**
 * Errors raised by the libvirt client. The module is self-contained, so it has its own base
 * class; the codes share the agent's form (VFT_ERR_*) and are documented in docs/errors.md.
 *
 * - A framing or decoding inconsistency is fatal to the connection: {@link LibvirtProtocolError}.
 * - An error reply from the daemon fails one call: {@link LibvirtRemoteError}.
 * - A dropped connection rejects every pending call at once: {@link LibvirtClosedError}.
 * - A call past its deadline: {@link LibvirtTimeoutError}; aborted by its signal: {@link LibvirtAbortError}.
 */
export const LibvirtErrorCode = {
  REMOTE: 'VFT_ERR_LIBVIRT_REMOTE',
  CLOSED: 'VFT_ERR_LIBVIRT_CLOSED',
  TIMEOUT: 'VFT_ERR_LIBVIRT_TIMEOUT',
  ABORTED: 'VFT_ERR_LIBVIRT_ABORTED',
  PROTOCOL: 'VFT_ERR_LIBVIRT_PROTOCOL',
  CONNECT: 'VFT_ERR_LIBVIRT_CONNECT',
  AUTH: 'VFT_ERR_LIBVIRT_AUTH',
  INVALID_ARGUMENT: 'VFT_ERR_LIBVIRT_INVALID_ARGUMENT',
} as const;
export type LibvirtErrorCode = (typeof LibvirtErrorCode)[keyof typeof LibvirtErrorCode];

export class LibvirtError extends Error {
  readonly code: LibvirtErrorCode;
  constructor(code: LibvirtErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why a connection ended. `client` means we closed it ourselves. */
export const CloseReason = {
  CLIENT: 'client',
  EOF: 'eof',
  KEEPALIVE: 'keepalive',
  PROTOCOL: 'protocol',
  ERROR: 'error',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/** The connection ended while the call was pending: the outcome of a mutating call is unknown. */
export class LibvirtClosedError extends LibvirtError {
  readonly reason: CloseReason;
  constructor(reason: CloseReason, message: string, options?: { cause?: unknown }) {
    super(LibvirtErrorCode.CLOSED, message, options);
    this.reason = reason;
  }
}

export class LibvirtTimeoutError extends LibvirtError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(LibvirtErrorCode.TIMEOUT, message);
    this.timeoutMs = timeoutMs;
  }
}

export class LibvirtAbortError extends LibvirtError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(LibvirtErrorCode.ABORTED, message, options);
  }
}

/** Bytes that violate the protocol. Always fatal to the connection that produced them. */
export class LibvirtProtocolError extends LibvirtError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(LibvirtErrorCode.PROTOCOL, message, options);
  }
}

/** The fields of libvirt's `remote_error`, as the daemon sent them. */
export interface RemoteErrorFields {
  /** virErrorNumber, e.g. 42 = VIR_ERR_NO_DOMAIN. */
  readonly code: number;
  /** virErrorDomain, e.g. 10 = QEMU. */
  readonly domain: number;
  readonly message: string | null;
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;
}

/** An error reply from libvirt, carrying libvirt's own code, domain and message. */
export class LibvirtRemoteError extends LibvirtError {
  /** virErrorNumber (see {@link VirErrorCode}). */
  readonly virCode: number;
  /** virErrorDomain. */
  readonly virDomain: number;
  /** The symbolic name of virCode, e.g. `VIR_ERR_NO_DOMAIN`, or `VIR_ERR_<n>` when unknown. */
  readonly virCodeName: string;
  readonly procedure: string;
  readonly fields: RemoteErrorFields;
  constructor(procedure: string, fields: RemoteErrorFields) {
    const name = virErrorName(fields.code);
    super(
      LibvirtErrorCode.REMOTE,
      `${procedure} failed: ${fields.message ?? 'no message'} (${name}, domain ${fields.domain})`,
    );
    this.virCode = fields.code;
    this.virDomain = fields.domain;
    this.virCodeName = name;
    this.procedure = procedure;
    this.fields = fields;
  }
}

/** virErrorNumber values the agent branches on (libvirt-rpc.md §6.9). */
export const VirErrorCode = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  INVALID_DOMAIN_SNAPSHOT: 71,
  NO_DOMAIN_SNAPSHOT: 72,
  ARGUMENT_UNSUPPORTED: 74,
  SNAPSHOT_REVERT_RISKY: 77,
  OPERATION_ABORTED: 78,
  NO_DOMAIN_METADATA: 80,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  AUTH_UNAVAILABLE: 94,
  AGENT_UNSYNCED: 97,
  INVALID_DOMAIN_CHECKPOINT: 102,
  NO_DOMAIN_CHECKPOINT: 103,
  NO_DOMAIN_BACKUP: 104,
  CHECKPOINT_INCONSISTENT: 109,
  MULTIPLE_DOMAINS: 110,
} as const;

const virErrorNames = new Map<number, string>(
  Object.entries(VirErrorCode).map(([k, v]) => [v, `VIR_ERR_${k}`]),
);

export function virErrorName(code: number): string {
  return virErrorNames.get(code) ?? `VIR_ERR_${code}`;
}

/** True when `err` is a libvirt error reply with the given virErrorNumber. */
export function isVirError(err: unknown, code: number): err is LibvirtRemoteError {
  return err instanceof LibvirtRemoteError && err.virCode === code;
}
