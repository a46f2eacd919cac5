/**
 * The audit trail: one structured line when an action starts and one when it ends, and one for
 * each request answered without running (invalid, busy, conflict, duplicate, unavailable).
 * Only validated, canonical fields are logged: never parameters' free text, never the raw
 * request of an invalid one (reliability.md §2.6).
 */
import { ACTION_KINDS } from './types.ts';
import type { ActionLogger, ActionResult } from './types.ts';
import type { ValidRequest } from './validate.ts';
import { KEY_RE } from './validate.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fields(req: ValidRequest): Record<string, unknown> {
  return {
    audit: 'action',
    idempotencyKey: req.key,
    kind: req.kind,
    domainUuid: req.uuid,
    domainName: req.domainName,
    origin: req.origin,
    reason: req.reason,
    ...(req.params.name !== undefined ? { name: req.params.name } : {}),
  };
}

export function auditStart(log: ActionLogger, req: ValidRequest): void {
  log.info({ ...fields(req), phase: 'start' }, `action ${req.kind} started`);
}

/** The end of an action that ran (or was recovered), or the answer to one that did not run. */
export function auditEnd(
  log: ActionLogger,
  req: ValidRequest,
  r: ActionResult,
  phase: 'end' | 'answered' | 'recovered',
): void {
  const f = {
    ...fields(req),
    phase,
    outcome: r.ok ? 'ok' : 'failed',
    ...(r.ok ? {} : { code: r.error.code, error: r.error.message }),
    duplicate: r.duplicate,
    durationMs: r.durationMs,
  };
  const msg = `action ${req.kind} ${r.ok ? 'succeeded' : `failed: ${r.error.code}`}${r.duplicate ? ' (duplicate)' : ''}`;
  if (r.ok || phase === 'answered') log.info(f, msg);
  else log.warn(f, msg);
}

/** An invalid request: only the fields that are individually well-formed are logged. */
export function auditInvalid(log: ActionLogger, input: unknown, message: string): void {
  const o = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const kind = o['kind'];
  const key = o['idempotencyKey'];
  const origin = o['origin'];
  const dom =
    typeof o['domain'] === 'object' && o['domain'] !== null
      ? (o['domain'] as Record<string, unknown>)['uuid']
      : undefined;
  log.warn(
    {
      audit: 'action',
      phase: 'rejected',
      code: 'VFT_ERR_ACTION_INVALID',
      error: message,
      ...(typeof kind === 'string' && (ACTION_KINDS as readonly string[]).includes(kind)
        ? { kind }
        : {}),
      ...(typeof key === 'string' && KEY_RE.test(key) ? { idempotencyKey: key } : {}),
      ...(origin === 'policy' || origin === 'admin' || origin === 'cli' ? { origin } : {}),
      ...(typeof dom === 'string' && UUID_RE.test(dom) ? { domainUuid: dom.toLowerCase() } : {}),
    },
    'action rejected: invalid request',
  );
}
