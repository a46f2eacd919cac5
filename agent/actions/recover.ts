/**
 * Startup recovery: every in-flight marker a crash left behind is resolved against libvirt
 * (resolve.ts) under the VM's lock, its outcome recorded under its idempotency key, so that a
 * retry of the same key returns that outcome instead of acting a second time, and the marker is
 * removed. Nothing is retried or deleted (reliability.md §1.8.5): the policy layer decides.
 */
import { performance } from 'node:perf_hooks';
import { describeError, ErrorCode } from '../../shared/errors.ts';
import type { LibvirtClient } from '../libvirt/index.ts';
import { auditEnd } from './audit.ts';
import type { DomainLocks } from './domain-locks.ts';
import { resolveMarker } from './resolve.ts';
import type { Resolution } from './resolve.ts';
import type { ActionStore, Marker } from './store.ts';
import type { ActionLogger, ActionResult, RecoveryEntry } from './types.ts';
import type { ValidRequest } from './validate.ts';

export interface RecoverDeps {
  readonly store: ActionStore;
  readonly locks: DomainLocks;
  readonly client: LibvirtClient | null;
  readonly log: ActionLogger;
  /** Keys running in this process now: their markers are not leftovers. */
  readonly running: (key: string) => boolean;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
}

export async function recoverMarkers(d: RecoverDeps): Promise<RecoveryEntry[]> {
  const { markers, errors } = await d.store.listMarkers();
  for (const e of errors) d.log.error({ err: e }, 'unreadable in-flight marker left in place');
  const out: RecoveryEntry[] = [];
  for (const m of markers) {
    if (d.running(m.key)) continue;
    const base = {
      idempotencyKey: m.key,
      kind: m.kind,
      domainUuid: m.domain.uuid,
      startedAt: new Date(m.startedAt).toISOString(),
    };
    if (await d.store.getRecord(m.key)) {
      await d.store.removeMarker(m.key);
      const detail = 'the result was recorded before the agent stopped';
      out.push({ ...base, outcome: 'already-recorded', detail, state: null });
      continue;
    }
    const lock = d.locks.acquire(m.domain.uuid, 'wait', AbortSignal.timeout(d.timeoutMs));
    let release: (() => void) | null = null;
    try {
      if (d.client === null) throw new Error('no libvirt connection');
      if (lock === 'busy') throw new Error('the domain is busy');
      release = await lock;
      const t0 = performance.now();
      const r = await resolveMarker(d.client, m, d);
      const result = resultOf(m, r, base.startedAt, Math.round(performance.now() - t0));
      await d.store.putRecord(m.key, m.fingerprint, result);
      await d.store.removeMarker(m.key);
      auditEnd(d.log, requestOf(m), result, 'recovered');
      out.push({ ...base, outcome: r.outcome, detail: r.detail, state: r.state });
    } catch (err) {
      const why = describeError(err);
      d.log.warn(
        { idempotencyKey: m.key, domainUuid: m.domain.uuid, err: why },
        'in-flight marker not resolved yet',
      );
      out.push({ ...base, outcome: 'pending', detail: `not resolved: ${why}`, state: null });
    } finally {
      release?.();
    }
  }
  return out;
}

/** The result recorded for a resolved marker. */
function resultOf(m: Marker, r: Resolution, startedAt: string, durationMs: number): ActionResult {
  const head = {
    kind: m.kind,
    domainUuid: m.domain.uuid,
    idempotencyKey: m.key,
    duplicate: false,
    startedAt,
    durationMs,
    recovered: true,
  };
  const name = m.name ?? m.params.name;
  if (r.outcome === 'succeeded') {
    const result = { recovered: true, state: r.state, ...(name !== undefined ? { name } : {}) };
    return { ...head, ok: true, result };
  }
  const code = r.outcome === 'failed' ? ErrorCode.ACTION_INTERRUPTED : ErrorCode.ACTION_UNKNOWN;
  const who = m.domain.name ?? m.domain.uuid;
  const message = `The agent stopped in the middle of ${m.kind} on ${who}: ${r.detail}`;
  return { ...head, ok: false, error: { code, message } };
}

function requestOf(m: Marker): ValidRequest {
  return {
    kind: m.kind,
    uuid: m.domain.uuid,
    domainName: m.domain.name,
    params: m.params,
    key: m.key,
    deadlineMs: null,
    origin: m.origin,
    reason: m.reason,
    ifBusy: 'wait',
    fingerprint: m.fingerprint,
  };
}
