/**
 * The agent's error model: one base class with a stable string code, `cause` chains, and
 * subclasses only where a caller branches on the type. Every code has a section in
 * docs/errors.md; test/unit/errors-doc.test.ts fails when the two drift.
 *
 * The libvirt client (agent/libvirt) is self-contained and has its own classes with codes
 * of the same form (VFT_ERR_LIBVIRT_*), listed in the same document.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'VFT_ERR_CONFIG_INVALID',
  USAGE: 'VFT_ERR_USAGE',
  HEALTH_SYSFS: 'VFT_ERR_HEALTH_SYSFS',
  HEALTH_SMARTCTL: 'VFT_ERR_HEALTH_SMARTCTL',
  HEALTH_SMARTCTL_TIMEOUT: 'VFT_ERR_HEALTH_SMARTCTL_TIMEOUT',
  HEALTH_SMARTCTL_OUTPUT: 'VFT_ERR_HEALTH_SMARTCTL_OUTPUT',
  HEALTH_HISTORY: 'VFT_ERR_HEALTH_HISTORY',
  XML_PARSE: 'VFT_ERR_XML_PARSE',
  XML_WRITE: 'VFT_ERR_XML_WRITE',
  STATE_IO: 'VFT_ERR_STATE_IO',
  ACTION_BUSY: 'VFT_ERR_ACTION_BUSY',
  ACTION_INVALID: 'VFT_ERR_ACTION_INVALID',
  ACTION_FAILED: 'VFT_ERR_ACTION_FAILED',
  ACTION_CONFLICT: 'VFT_ERR_ACTION_CONFLICT',
  ACTION_TIMEOUT: 'VFT_ERR_ACTION_TIMEOUT',
  ACTION_NOT_FOUND: 'VFT_ERR_ACTION_NOT_FOUND',
  ACTION_STATE: 'VFT_ERR_ACTION_STATE',
  ACTION_UNSUPPORTED: 'VFT_ERR_ACTION_UNSUPPORTED',
  ACTION_UNKNOWN: 'VFT_ERR_ACTION_UNKNOWN',
  ACTION_INTERRUPTED: 'VFT_ERR_ACTION_INTERRUPTED',
  ACTION_UNAVAILABLE: 'VFT_ERR_ACTION_UNAVAILABLE',
  STREAM_BAD_MESSAGE: 'VFT_ERR_STREAM_BAD_MESSAGE',
  STREAM_AUTH: 'VFT_ERR_STREAM_AUTH',
  STREAM_BAD_JSON: 'VFT_ERR_STREAM_BAD_JSON',
  STREAM_TOO_LARGE: 'VFT_ERR_STREAM_TOO_LARGE',
  STREAM_TOO_DEEP: 'VFT_ERR_STREAM_TOO_DEEP',
  STREAM_FORBIDDEN_KEY: 'VFT_ERR_STREAM_FORBIDDEN_KEY',
  STREAM_VERSION: 'VFT_ERR_STREAM_VERSION',
  STREAM_FORBIDDEN: 'VFT_ERR_STREAM_FORBIDDEN',
  STREAM_ORIGIN: 'VFT_ERR_STREAM_ORIGIN',
  STREAM_RATE_LIMITED: 'VFT_ERR_STREAM_RATE_LIMITED',
  STREAM_OVERLOADED: 'VFT_ERR_STREAM_OVERLOADED',
  STREAM_SLOW_CONSUMER: 'VFT_ERR_STREAM_SLOW_CONSUMER',
  STREAM_STATE: 'VFT_ERR_STREAM_STATE',
  STREAM_CLOSING: 'VFT_ERR_STREAM_CLOSING',
  STREAM_INTERNAL: 'VFT_ERR_STREAM_INTERNAL',
  COORD_AUTH: 'VFT_ERR_COORD_AUTH',
  COORD_FORBIDDEN: 'VFT_ERR_COORD_FORBIDDEN',
  COORD_BAD_REQUEST: 'VFT_ERR_COORD_BAD_REQUEST',
  COORD_NOT_FOUND: 'VFT_ERR_COORD_NOT_FOUND',
  COORD_RATE_LIMITED: 'VFT_ERR_COORD_RATE_LIMITED',
  COORD_OVERLOADED: 'VFT_ERR_COORD_OVERLOADED',
  COORD_UNREACHABLE: 'VFT_ERR_COORD_UNREACHABLE',
  COORD_TIMEOUT: 'VFT_ERR_COORD_TIMEOUT',
  COORD_STORE: 'VFT_ERR_COORD_STORE',
  COORD_CLIENT: 'VFT_ERR_COORD_CLIENT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AgentError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One line a person can act on: the message, then the causes' messages. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      if (!parts.some((p) => p.includes(cur instanceof Error ? cur.message : ''))) {
        parts.push(cur.message);
      }
      cur = cur.cause;
    } else {
      parts.push(typeof cur === 'string' ? cur : JSON.stringify(cur));
      break;
    }
  }
  return parts.join(': ').replace(/\s*\n\s*/g, ' ');
}
