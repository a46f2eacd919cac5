/**
 * Wire constants of libvirt's RPC protocol (src/rpc/virnetprotocol.x, src/remote/remote_protocol.x,
 * src/rpc/virkeepaliveprotocol.x), checked against libvirtd 9.0 (../shared/docs/libvirt-rpc.md).
 */

/** Program numbers (§3). Every program is version 1. */
export const Program = {
  REMOTE: 0x20008086,
  QEMU: 0x20008087,
  LXC: 0x00068000,
  KEEPALIVE: 0x6b656570, // "keep"
  ADMIN: 0x06900690,
} as const;
export const PROGRAM_VERSION = 1;

/** virNetMessageType (§1.3). */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

/** virNetMessageStatus (§1.4). */
export const MessageStatus = {
  OK: 0,
  ERROR: 1,
  CONTINUE: 2,
} as const;

/** Keepalive procedures (§3.2). */
export const KeepaliveProc = {
  PING: 1,
  PONG: 2,
} as const;

/** VIR_NET_MESSAGE_LEN_MAX: the length word. */
export const LEN_WORD_BYTES = 4;
/** VIR_NET_MESSAGE_HEADER_MAX: six 32-bit words. */
export const HEADER_BYTES = 24;
/** The smallest legal frame: length word and header, empty payload. */
export const MIN_FRAME_BYTES = LEN_WORD_BYTES + HEADER_BYTES;
/** VIR_NET_MESSAGE_MAX in libvirt ≥ 8.x (32 MiB), excluding the length word. */
export const MESSAGE_MAX = 33_554_432;
/** Largest legal value of the length word (it counts itself). */
export const MAX_FRAME_BYTES = LEN_WORD_BYTES + MESSAGE_MAX;

/** Array and string limits from remote_protocol.x (§7). */
export const Limits = {
  STRING_MAX: 4_194_304,
  DOMAIN_LIST_MAX: 16_384,
  SNAPSHOT_LIST_MAX: 16_384,
  CHECKPOINT_LIST_MAX: 16_384,
  STATS_PARAMS_MAX: 262_144,
  JOB_STATS_MAX: 64,
  SAVE_PARAMS_MAX: 64,
  EVENT_TUNABLE_MAX: 2_048,
  GUEST_INFO_PARAMS_MAX: 2_048,
  INTERFACE_MAX: 2_048,
  IP_ADDR_MAX: 2_048,
  AUTH_TYPE_LIST_MAX: 20,
  GRAPHICS_IDENTITY_MAX: 20,
} as const;

/** CONNECT_SUPPORTS_FEATURE numbers (§4.5). */
export const Feature = {
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
} as const;

/** remote_auth_type (§4.3). */
export const AuthType = {
  NONE: 0,
  SASL: 1,
  POLKIT: 2,
} as const;

/** CONNECT_OPEN flags. */
export const ConnectFlags = {
  RO: 1,
  NO_ALIASES: 2,
} as const;
