/**
 * Request validation, before anything else happens: a request that fails here causes no
 * libvirt call and no state write. The checked request is normalized (lower-case UUID, only
 * the parameters that apply to its kind) and carries its idempotency fingerprint.
 */
import { createHash } from 'node:crypto';
import { ACTION_KINDS } from './types.ts';
import type { ActionKind, ActionOrigin, ActionParams } from './types.ts';
import {
  BAD_LINE_RE,
  BAD_TEXT_RE,
  codePoints,
  MAX_TEXT_CHARS,
  NAME_RE,
  UUID_RE,
} from '../../shared/text-rules.ts';

export { MAX_TEXT_CHARS };
/** Idempotency keys: 1–200 printable ASCII characters, no spaces. */
export const KEY_RE = /^[\x21-\x7e]{1,200}$/;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A validated, normalized request. */
export interface ValidRequest {
  readonly kind: ActionKind;
  readonly uuid: string;
  readonly domainName: string | null;
  readonly params: ActionParams;
  readonly key: string;
  readonly deadlineMs: number | null;
  readonly origin: ActionOrigin;
  readonly reason: string;
  readonly ifBusy: 'wait' | 'reject';
  /** sha256 of kind, UUID and the applicable parameters: same key + other fingerprint = conflict. */
  readonly fingerprint: string;
}

export type Validation =
  | { readonly ok: true; readonly request: ValidRequest }
  | { readonly ok: false; readonly message: string };

const PARAMS_BY_KIND: Readonly<Record<ActionKind, readonly (keyof ActionParams)[]>> = {
  'domain.start': [],
  'domain.shutdown': ['gracefulTimeoutMs'],
  'domain.destroy': [],
  'domain.restart': ['gracefulTimeoutMs'],
  'domain.suspend': [],
  'domain.resume': [],
  'domain.managed-save': [],
  'snapshot.create': ['name', 'description', 'memory', 'retain', 'protect'],
  'snapshot.revert': ['name'],
  'snapshot.delete': ['name', 'retain', 'protect'],
  'snapshot.list': [],
  'checkpoint.create': ['name', 'description', 'retain', 'protect'],
  'checkpoint.delete': ['name', 'retain', 'protect'],
  'checkpoint.list': [],
};
const REQUEST_KEYS = new Set([
  'kind',
  'domain',
  'params',
  'idempotencyKey',
  'deadlineMs',
  'origin',
  'reason',
  'ifBusy',
]);
const PARAM_KEYS = new Set<string>([
  'name',
  'description',
  'memory',
  'retain',
  'protect',
  'gracefulTimeoutMs',
]);

class Invalid extends Error {}

/** Checks `input` (which may come from the wire: anything at all). Never throws. */
export function validateRequest(input: unknown): Validation {
  try {
    return { ok: true, request: check(input) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, message: err.message };
    return { ok: false, message: 'the request is not a plain object' };
  }
}

function check(input: unknown): ValidRequest {
  const req = record(input, 'request');
  onlyKeys(req, REQUEST_KEYS, 'request');
  const kind = req['kind'];
  if (typeof kind !== 'string' || !(ACTION_KINDS as readonly string[]).includes(kind)) {
    throw new Invalid(`kind must be one of ${ACTION_KINDS.join(', ')}, got ${show(kind)}`);
  }
  const k = kind as ActionKind;
  const domain = record(req['domain'], 'domain');
  onlyKeys(domain, new Set(['uuid', 'name']), 'domain');
  const uuid = domain['uuid'];
  if (typeof uuid !== 'string' || !UUID_RE.test(uuid))
    throw new Invalid(`domain.uuid must be a UUID (8-4-4-4-12 hex), got ${show(uuid)}`);
  const domainName =
    domain['name'] === undefined ? null : text(domain['name'], 'domain.name', 256, BAD_LINE_RE);
  const key = req['idempotencyKey'];
  if (typeof key !== 'string' || !KEY_RE.test(key))
    throw new Invalid(
      `idempotencyKey must be 1–200 printable ASCII characters without spaces, got ${show(key)}`,
    );
  const origin = req['origin'];
  if (origin !== 'policy' && origin !== 'admin' && origin !== 'cli')
    throw new Invalid(`origin must be policy, admin or cli, got ${show(origin)}`);
  const reason = text(req['reason'], 'reason', MAX_TEXT_CHARS, BAD_TEXT_RE);
  if (reason.trim() === '') throw new Invalid('reason must not be empty');
  const ifBusy = req['ifBusy'] ?? 'wait';
  if (ifBusy !== 'wait' && ifBusy !== 'reject')
    throw new Invalid(`ifBusy must be wait or reject, got ${show(ifBusy)}`);
  const deadlineMs =
    req['deadlineMs'] === undefined ? null : int(req['deadlineMs'], 'deadlineMs', 1, MAX_TIMER_MS);
  const params = checkParams(k, req['params'] === undefined ? {} : record(req['params'], 'params'));
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([k, uuid.toLowerCase(), canonical(params)]))
    .digest('hex');
  return {
    kind: k,
    uuid: uuid.toLowerCase(),
    domainName,
    params,
    key,
    deadlineMs,
    origin,
    reason,
    ifBusy,
    fingerprint,
  };
}

function checkParams(kind: ActionKind, p: Record<string, unknown>): ActionParams {
  onlyKeys(p, PARAM_KEYS, 'params');
  const out: { -readonly [K in keyof ActionParams]: ActionParams[K] } = {};
  // Every given parameter is checked, even one that does not apply (it is then dropped).
  if (p['name'] !== undefined) out.name = name(p['name'], 'params.name');
  if (p['description'] !== undefined)
    out.description = text(p['description'], 'params.description', MAX_TEXT_CHARS, BAD_TEXT_RE);
  if (p['memory'] !== undefined) {
    if (typeof p['memory'] !== 'boolean')
      throw new Invalid(`params.memory must be a boolean, got ${show(p['memory'])}`);
    out.memory = p['memory'];
  }
  if (p['retain'] !== undefined)
    out.retain = int(p['retain'], 'params.retain', kind.endsWith('.create') ? 1 : 0, 1000);
  if (p['protect'] !== undefined) {
    const list = p['protect'];
    if (!Array.isArray(list) || list.length > 100)
      throw new Invalid('params.protect must be an array of at most 100 names');
    out.protect = list.map((n, i) => name(n, `params.protect[${i}]`));
  }
  if (p['gracefulTimeoutMs'] !== undefined)
    out.gracefulTimeoutMs = int(p['gracefulTimeoutMs'], 'params.gracefulTimeoutMs', 0, 3_600_000);
  const applicable = new Set<string>(PARAMS_BY_KIND[kind]);
  const kept = Object.fromEntries(
    Object.entries(out).filter(([key]) => applicable.has(key)),
  ) as ActionParams;
  if (kind === 'snapshot.revert' && kept.name === undefined)
    throw new Invalid('snapshot.revert needs params.name');
  if (
    (kind === 'snapshot.delete' || kind === 'checkpoint.delete') &&
    kept.name === undefined &&
    kept.retain === undefined
  ) {
    throw new Invalid(`${kind} needs params.name, or params.retain to prune virt-ft's own ones`);
  }
  return kept;
}

/** Parameters as a stable value: keys sorted, `protect` as a sorted set. */
function canonical(p: ActionParams): unknown[] {
  return Object.keys(p)
    .sort()
    .map((k) => {
      const v = p[k as keyof ActionParams];
      return [k, Array.isArray(v) ? [...new Set(v as string[])].sort() : v];
    });
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Invalid(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) throw new Invalid(`${what} has an unknown key ${show(k)}`);
  }
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || !NAME_RE.test(v))
    throw new Invalid(`${what} must match ${NAME_RE.source}, got ${show(v)}`);
  return v;
}

function text(v: unknown, what: string, maxChars: number, bad: RegExp): string {
  if (typeof v !== 'string') throw new Invalid(`${what} must be a string, got ${show(v)}`);
  // Cheap bound first: a code point is at most 2 UTF-16 units.
  if (v.length > maxChars * 2 || codePoints(v) > maxChars)
    throw new Invalid(
      `${what} must be at most ${maxChars} characters, got ${codePoints(v.slice(0, maxChars * 4))}${v.length > maxChars * 4 ? '+' : ''}`,
    );
  const m = bad.exec(v);
  if (m)
    throw new Invalid(
      `${what} contains a control or non-XML character U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} at index ${m.index}`,
    );
  return v;
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new Invalid(`${what} must be an integer from ${min} to ${max}, got ${show(v)}`);
  return v;
}

/** A short, safe rendering of a hostile value for an error message. */
function show(v: unknown): string {
  if (typeof v === 'string')
    return v.length > 40
      ? `${JSON.stringify(v.slice(0, 40))}… (${v.length} chars)`
      : JSON.stringify(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined)
    return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
