/**
 * Typed reads from parsed smartctl JSON. smartctl's output varies by version, protocol and
 * device, so every accessor answers `undefined` for a missing or mistyped field instead of
 * throwing; the normalizer decides what absence means.
 */
import type { JsonValue } from './lossless-json.ts';

/** An integer counter: `bigint` when it does not fit a safe JS number. */
export type Count = number | bigint;

/** A JSON object, or `undefined`. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** The value at `keys` below `v`, or `undefined` when any step is missing. */
export function at(v: JsonValue | undefined, ...keys: (string | number)[]): JsonValue | undefined {
  let cur: JsonValue | undefined = v;
  for (const k of keys) {
    if (cur === undefined || cur === null || typeof cur !== 'object') return undefined;
    if (typeof k === 'number') {
      cur = Array.isArray(cur) ? (cur as readonly JsonValue[])[k] : undefined;
    } else {
      if (Array.isArray(cur)) return undefined;
      const o = cur as JsonObject;
      cur = Object.hasOwn(o, k) ? o[k] : undefined;
    }
  }
  return cur;
}

/** An object at `keys`, or `undefined`. */
export function objectAt(v: JsonValue | undefined, ...keys: string[]): JsonObject | undefined {
  const x = at(v, ...keys);
  return x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as JsonObject) : undefined;
}

/** An array at `keys`, or `undefined`. */
export function arrayAt(
  v: JsonValue | undefined,
  ...keys: string[]
): readonly JsonValue[] | undefined {
  const x = at(v, ...keys);
  return Array.isArray(x) ? (x as readonly JsonValue[]) : undefined;
}

/** A string at `keys`, or `undefined`. */
export function stringAt(
  v: JsonValue | undefined,
  ...keys: (string | number)[]
): string | undefined {
  const x = at(v, ...keys);
  return typeof x === 'string' ? x : undefined;
}

/** A boolean at `keys`, or `undefined`. */
export function boolAt(v: JsonValue | undefined, ...keys: string[]): boolean | undefined {
  const x = at(v, ...keys);
  return typeof x === 'boolean' ? x : undefined;
}

/** An integer at `keys` (number or bigint), or `undefined` for anything else. */
export function countAt(v: JsonValue | undefined, ...keys: (string | number)[]): Count | undefined {
  const x = at(v, ...keys);
  if (typeof x === 'bigint') return x;
  return typeof x === 'number' && Number.isInteger(x) ? x : undefined;
}

/** A safe integer at `keys`, or `undefined` (bigints and fractions are refused). */
export function intAt(v: JsonValue | undefined, ...keys: (string | number)[]): number | undefined {
  const x = at(v, ...keys);
  return typeof x === 'number' && Number.isSafeInteger(x) ? x : undefined;
}

/** `a + b` for counters, staying exact. */
export function addCounts(a: Count, b: Count): Count {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a + b)) return a + b;
  return BigInt(a) + BigInt(b);
}

/** A bigint-safe integer from `s`, or `undefined` when `s` is not a non-negative integer. */
export function countFromString(s: string): Count | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}
