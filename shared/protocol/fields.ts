/**
 * Bounded building blocks of the protocol's schemas. Every string and array has a maximum;
 * names, descriptions and idempotency keys follow the action executor's own rules
 * (agent/actions/validate.ts, names.ts), so a command the schema accepts is not refused later
 * for its form. test/unit/protocol/fields.test.ts checks that the two stay equal.
 */
import { z } from 'zod';
import { CLEAN_TEXT_RE, codePoints, LONE_SURROGATE_RE, NAME_RE, UUID_RE } from '../text-rules.ts';
import { LIMITS, PROTOCOL_VERSION } from './version.ts';

/** `v`: the protocol version. */
export const Version = z.literal(PROTOCOL_VERSION);

export { NAME_RE };
/** Idempotency keys: 1–128 printable ASCII characters without spaces (a UUID fits). */
export const KEY_RE = /^[\x21-\x7e]{1,128}$/;
/** Correlation ids, token ids, epochs: short and plain. */
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** A domain UUID, 8-4-4-4-12 hex. */
export const Uuid = z.string().regex(UUID_RE);
/** A correlation id chosen by the client, echoed as `ref` in the answers. */
export const Id = z.string().regex(ID_RE);
/** An idempotency key: a command runs once per key, across reconnects and agent restarts. */
export const IdemKey = z.string().regex(KEY_RE);
/** A snapshot or checkpoint name. */
export const Name = z.string().regex(NAME_RE);
/** A sequence number: dense per agent, from 1; 0 means "nothing yet". */
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A time, ISO 8601 UTC as `Date.prototype.toISOString` writes it. */
export const IsoTime = z.iso.datetime();
/** A non-negative integer number of milliseconds (≤ 2^31 − 1, what timers accept). */
export const Ms = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** A bounded single-line string from the agent (states, reasons, labels). */
export function label(max = 128): z.ZodString {
  return z.string().max(max);
}

/**
 * Free text (descriptions, reasons): at most `maxChars` code points, no control characters
 * but tab and LF, no non-characters, no lone surrogates.
 */
export function text(maxChars: number = LIMITS.maxTextChars) {
  return z
    .string()
    .max(maxChars * 2)
    .regex(CLEAN_TEXT_RE)
    .refine((s) => !LONE_SURROGATE_RE.test(s), { error: 'contains a lone surrogate' })
    .refine((s) => codePoints(s) <= maxChars, {
      error: `longer than ${maxChars} characters`,
    });
}

/** A message written by the agent: bounded, never validated for content. */
export const Message = z.string().max(4 * LIMITS.maxTextChars);

/** Any JSON value (objects, arrays, primitives); bounded by the message's size and depth checks. */
export const Json = z.json();
export type JsonValue = z.infer<typeof Json>;

/** A JSON object with at most `maxKeys` keys of at most 128 characters each. */
export function jsonObject(maxKeys = 256) {
  return z.record(z.string().max(128), Json).refine((o) => Object.keys(o).length <= maxKeys, {
    error: `more than ${maxKeys} keys`,
  });
}
