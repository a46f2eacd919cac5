/**
 * Parsing and encoding. A message is checked in this order, cheapest first, and the first
 * failure is the one error reported: type and size, nesting depth (a scan of the raw text,
 * iterative, before JSON.parse builds anything), JSON syntax, forbidden keys (`__proto__`,
 * `constructor`, `prototype`, anywhere), the version `v`, then the zod schema. No recursive
 * code runs on a value before its depth is known to be small, so a 10 KiB array nested 5,000
 * deep costs one linear scan and no RangeError.
 */
import type { z } from 'zod';
import { AgentError, ErrorCode } from '../errors.ts';
import { ID_RE } from './fields.ts';
import { ClientMessage, ServerMessage } from './messages.ts';
import { CloseCode, LIMITS, PROTOCOL_VERSION } from './version.ts';

/** Keys refused anywhere in a message: they pollute prototypes in naive merges. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** Why a message was refused; `closeCode` non-null: the receiver closes the connection with it. */
export class ProtocolError extends AgentError {
  readonly closeCode: CloseCode | null;
  /** The message's `id`, when it had a readable one (for `error.ref`). */
  readonly ref: string | null;
  constructor(
    code: ErrorCode,
    message: string,
    options: { closeCode?: CloseCode | null; ref?: string | null; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.closeCode = options.closeCode ?? null;
    this.ref = options.ref ?? null;
  }
}

/** A parse outcome: never throws. */
export type Parsed<T> =
  | { readonly ok: true; readonly message: T }
  | { readonly ok: false; readonly error: ProtocolError };

/** Limits of one parse. */
export interface ParseLimits {
  /** @default LIMITS.maxDepth (8) */
  readonly maxDepth?: number;
  /** In UTF-8 bytes. */
  readonly maxBytes: number;
}

/** Parses a message from a client (the agent's side). @default maxBytes 64 KiB */
export function parseClientMessage(
  data: string,
  limits: ParseLimits = { maxBytes: LIMITS.maxClientMessageBytes },
): Parsed<ClientMessage> {
  return parseWith(ClientMessage, data, limits);
}

/** Parses a message from the agent (a client's side). @default maxBytes 16 MiB */
export function parseServerMessage(
  data: string,
  limits: ParseLimits = { maxBytes: LIMITS.maxServerMessageBytes },
): Parsed<ServerMessage> {
  return parseWith(ServerMessage, data, limits);
}

/** Serializes a message; bigints become numbers when exact, else decimal strings. */
export function encodeMessage(message: ServerMessage | ClientMessage): string {
  return JSON.stringify(message, bigintReplacer);
}

/** JSON.stringify replacer: bigint → number when exact, else a decimal string. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

function parseWith<T>(schema: z.ZodType<T>, data: string, limits: ParseLimits): Parsed<T> {
  try {
    return { ok: true, message: check(schema, data, limits) };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: err };
    const e = new ProtocolError(ErrorCode.STREAM_BAD_MESSAGE, 'Cannot parse message', {
      closeCode: CloseCode.POLICY_VIOLATION,
      cause: err,
    });
    return { ok: false, error: e };
  }
}

function check<T>(schema: z.ZodType<T>, data: string, limits: ParseLimits): T {
  if (typeof data !== 'string') {
    throw new ProtocolError(ErrorCode.STREAM_BAD_MESSAGE, 'Cannot parse message: not text', {
      closeCode: CloseCode.UNSUPPORTED_DATA,
    });
  }
  // A UTF-8 byte count is at least the UTF-16 length and at most 3 times it.
  if (data.length > limits.maxBytes || Buffer.byteLength(data, 'utf8') > limits.maxBytes) {
    throw new ProtocolError(
      ErrorCode.STREAM_TOO_LARGE,
      `Cannot parse message: it must be at most ${limits.maxBytes} bytes, got ${Buffer.byteLength(data, 'utf8')}`,
      { closeCode: CloseCode.MESSAGE_TOO_BIG },
    );
  }
  const maxDepth = limits.maxDepth ?? LIMITS.maxDepth;
  const deep = depthViolation(data, maxDepth);
  if (deep !== -1) {
    throw new ProtocolError(
      ErrorCode.STREAM_TOO_DEEP,
      `Cannot parse message: nesting must be at most ${maxDepth} deep, exceeded at character ${deep}`,
      { closeCode: CloseCode.POLICY_VIOLATION },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw new ProtocolError(
      ErrorCode.STREAM_BAD_JSON,
      `Cannot parse message: not JSON (${err instanceof Error ? err.message.slice(0, 120) : 'syntax error'})`,
      { closeCode: CloseCode.INVALID_PAYLOAD },
    );
  }
  const bad = forbiddenKey(value);
  if (bad !== null) {
    throw new ProtocolError(
      ErrorCode.STREAM_FORBIDDEN_KEY,
      `Cannot parse message: the key ${JSON.stringify(bad.key)} is not allowed (at ${bad.path})`,
      { closeCode: CloseCode.POLICY_VIOLATION },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(
      ErrorCode.STREAM_BAD_MESSAGE,
      'Cannot parse message: not a JSON object',
      {
        closeCode: CloseCode.POLICY_VIOLATION,
      },
    );
  }
  const obj = value as Record<string, unknown>;
  const id = obj['id'];
  const ref = typeof id === 'string' && ID_RE.test(id) ? id : null;
  if (obj['v'] !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      ErrorCode.STREAM_VERSION,
      `Cannot parse message: protocol version v must be ${PROTOCOL_VERSION}, got ${show(obj['v'])}`,
      { closeCode: CloseCode.PROTOCOL_ERROR, ref },
    );
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.map(String).join('.') || '(message)'}: ${i.message}`)
      .join('; ');
    throw new ProtocolError(
      ErrorCode.STREAM_BAD_MESSAGE,
      `Invalid ${typeof obj['type'] === 'string' ? show(obj['type']) : 'untyped'} message: ${issues}`,
      { ref },
    );
  }
  return r.data;
}

/**
 * Index of the character where nesting first exceeds `max`, or -1. Iterative; skips strings
 * (with their escapes), so brackets inside strings do not count.
 */
export function depthViolation(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

/** The first forbidden key in a parsed value (whose depth is known to be bounded), or null. */
function forbiddenKey(root: unknown): { key: string; path: string } | null {
  const stack: { v: unknown; path: string }[] = [{ v: root, path: '$' }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { v, path } = item;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      v.forEach((x: unknown, i) => stack.push({ v: x, path: `${path}[${i}]` }));
      continue;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) return { key: k, path };
      stack.push({ v: (v as Record<string, unknown>)[k], path: `${path}.${k.slice(0, 32)}` });
    }
  }
  return null;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined)
    return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
