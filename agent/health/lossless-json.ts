/**
 * JSON that keeps integers beyond 2^53 exact. smartctl prints NVMe 128-bit counters and some
 * vendor raw values as plain JSON numbers; `JSON.parse` rounds them, and Node 20 has no
 * `JSON.parse` source-text access. Integers that are not safe become `bigint`; everything else
 * is what `JSON.parse` would give. {@link stringifyJson} writes a `bigint` back as digits.
 */

/** A parsed JSON value; objects have no prototype. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** Strict RFC 8259 parser; throws `SyntaxError` naming the offset of the fault. */
export function parseJson(text: string, maxDepth = 128): JsonValue {
  const p = { s: text, i: 0, maxDepth };
  skipWs(p);
  const value = parseValue(p, 0);
  skipWs(p);
  if (p.i < p.s.length) fail(p, 'unexpected data after the JSON value');
  return value;
}

interface Cursor {
  readonly s: string;
  i: number;
  readonly maxDepth: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function parseValue(p: Cursor, depth: number): JsonValue {
  if (depth > p.maxDepth) fail(p, `nesting deeper than ${p.maxDepth}`);
  const c = p.s[p.i];
  if (c === '{') return parseObject(p, depth);
  if (c === '[') return parseArray(p, depth);
  if (c === '"') return parseString(p);
  for (const [word, value] of [
    ['true', true],
    ['false', false],
    ['null', null],
  ] as const) {
    if (p.s.startsWith(word, p.i)) {
      p.i += word.length;
      return value;
    }
  }
  NUMBER.lastIndex = p.i;
  const m = NUMBER.exec(p.s);
  if (m === null)
    fail(p, c === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`);
  p.i += m[0].length;
  const n = Number(m[0]);
  if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
  return n;
}

function parseObject(p: Cursor, depth: number): JsonValue {
  const out = Object.create(null) as Record<string, JsonValue>;
  p.i++;
  skipWs(p);
  if (p.s[p.i] === '}') {
    p.i++;
    return out;
  }
  for (;;) {
    if (p.s[p.i] !== '"') fail(p, 'expected a property name');
    const key = parseString(p);
    skipWs(p);
    if (p.s[p.i] !== ':') fail(p, "expected ':'");
    p.i++;
    skipWs(p);
    out[key] = parseValue(p, depth + 1);
    skipWs(p);
    const c = p.s[p.i++];
    if (c === '}') return out;
    if (c !== ',') fail(p, "expected ',' or '}'", p.i - 1);
    skipWs(p);
  }
}

function parseArray(p: Cursor, depth: number): JsonValue {
  const out: JsonValue[] = [];
  p.i++;
  skipWs(p);
  if (p.s[p.i] === ']') {
    p.i++;
    return out;
  }
  for (;;) {
    out.push(parseValue(p, depth + 1));
    skipWs(p);
    const c = p.s[p.i++];
    if (c === ']') return out;
    if (c !== ',') fail(p, "expected ',' or ']'", p.i - 1);
    skipWs(p);
  }
}

function parseString(p: Cursor): string {
  let out = '';
  let start = ++p.i;
  for (;;) {
    const code = p.s.charCodeAt(p.i);
    if (Number.isNaN(code)) fail(p, 'unterminated string');
    if (code === 0x22) break;
    if (code < 0x20) fail(p, 'control character in string');
    if (code !== 0x5c) {
      p.i++;
      continue;
    }
    out += p.s.slice(start, p.i);
    const e = p.s[p.i + 1] ?? '';
    if (e === 'u') {
      const hex = p.s.slice(p.i + 2, p.i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail(p, 'bad \\u escape');
      out += String.fromCharCode(parseInt(hex, 16));
      p.i += 6;
    } else {
      const ch = ESCAPES[e];
      if (ch === undefined) fail(p, `bad escape \\${e}`);
      out += ch;
      p.i += 2;
    }
    start = p.i;
  }
  out += p.s.slice(start, p.i);
  p.i++;
  return out;
}

function skipWs(p: Cursor): void {
  for (;;) {
    const c = p.s.charCodeAt(p.i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    p.i++;
  }
}

function fail(p: Cursor, message: string, at = p.i): never {
  throw new SyntaxError(`Invalid JSON at offset ${at}: ${message}`);
}

/**
 * `JSON.stringify` that writes `bigint` as an integer literal instead of throwing. Like
 * `JSON.stringify`, it drops `undefined` properties and writes non-finite numbers as `null`.
 */
export function stringifyJson(value: unknown, indent = 0): string {
  return write(value, indent, '') ?? 'null';
}

function write(v: unknown, indent: number, pad: string): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'object':
      break;
    default:
      return undefined;
  }
  const inner = pad + ' '.repeat(indent);
  const nl = indent > 0 ? '\n' : '';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((x: unknown) => inner + (write(x, indent, inner) ?? 'null'));
    return `[${nl}${items.join(`,${nl}`)}${nl}${pad}]`;
  }
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const w = write(x, indent, inner);
    if (w !== undefined) parts.push(`${inner}${JSON.stringify(k)}:${indent > 0 ? ' ' : ''}${w}`);
  }
  if (parts.length === 0) return '{}';
  return `{${nl}${parts.join(`,${nl}`)}${nl}${pad}}`;
}
