/**
 * Protocol version, WebSocket subprotocol, capabilities, limits and close codes of the agent's
 * status stream. Both sides import these; docs/protocol.md explains each.
 */

/** The wire version: every message carries `v: PROTOCOL_VERSION`. */
export const PROTOCOL_VERSION = 1;

/** Offered in `Sec-WebSocket-Protocol`; a client that offers others but not this one gets 400. */
export const SUBPROTOCOL = 'virt-ft.v1';

/** Path of the stream endpoint. @default '/v1/stream' */
export const DEFAULT_STREAM_PATH = '/v1/stream';

/**
 * Optional request header naming the least role the client needs (`viewer`, `operator`, `admin`):
 * a token with a lower role is refused with 403 before the upgrade instead of at its first command.
 */
export const ROLE_HEADER = 'x-virt-ft-role';

/** What an agent speaking this version can do; `hello.capabilities` lists them. */
export const CAPABILITIES = [
  'snapshot',
  'events',
  'resume',
  'stats',
  'commands',
  'policy.set',
  'idempotency',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Roles, lowest first: viewer reads; operator also runs actions; admin also sets policies. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** True when `have` is at least `need`. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Limits every message obeys, checked before any schema sees it. */
export const LIMITS = {
  /** Deepest nesting of objects and arrays in one message (the message itself is depth 1). */
  maxDepth: 8,
  /** Largest message a client may send to the agent, in bytes (ws `maxPayload`). */
  maxClientMessageBytes: 64 * 1024,
  /** Largest message the agent sends (a snapshot of a large host), in bytes. */
  maxServerMessageBytes: 16 * 1024 * 1024,
  /** Longest free text (descriptions, reasons, messages), in characters (code points). */
  maxTextChars: 1024,
} as const;

/**
 * WebSocket close codes the agent uses (RFC 6455 §7.4.1, IANA registry).
 * - 1001: the agent is shutting down.
 * - 1002: unsupported protocol version `v`.
 * - 1003: a binary frame (the protocol is text only).
 * - 1007: a text frame that is not JSON (ws itself uses it for invalid UTF-8).
 * - 1008: a hostile or abusive message: too deep, a forbidden key, a sustained flood.
 * - 1009: a frame over the size limit (ws closes it before it is read).
 * - 1011: an unexpected failure inside the agent.
 * - 1013: a consumer too slow to keep up, after a gap and a snapshot did not help: try again later.
 */
export const CloseCode = {
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
