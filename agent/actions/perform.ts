/**
 * One action, once it holds its VM's lock: the in-flight marker (written and fsynced before
 * the first libvirt call), the operation under the deadline, the result recorded under the
 * idempotency key, then the marker removed. If the result cannot be recorded, the marker stays
 * and recover() resolves the action on the next start.
 */
import { performance } from 'node:perf_hooks';
import { describeError, ErrorCode } from '../../shared/errors.ts';
import type { LibvirtClient } from '../libvirt/index.ts';
import { auditEnd, auditStart } from './audit.ts';
import { OpContext } from './context.ts';
import { ActionError, toErrorInfo } from './errors.ts';
import type { ActionErrorInfo } from './errors.ts';
import { createsNamed, OPERATIONS } from './operations.ts';
import type { ActionStore } from './store.ts';
import { READ_ONLY_KINDS } from './types.ts';
import type { ActionLogger, ActionResult } from './types.ts';
import type { ValidRequest } from './validate.ts';

export interface PerformDeps {
  readonly client: LibvirtClient | null;
  readonly store: ActionStore;
  readonly log: ActionLogger;
  readonly now: () => number;
  readonly pollIntervalMs: number;
  /** A fresh `vft-…` name for a create without one. */
  readonly generateName: (uuid: string) => string;
  /** The executor is closing (an abort then is not a timeout). */
  readonly closing: () => boolean;
  readonly onStart: (req: ValidRequest) => void;
  readonly onEnd: (req: ValidRequest) => void;
}

/** The deadline: its signal, when it falls (performance.now() time) and its length. */
export interface Deadline {
  readonly signal: AbortSignal;
  readonly at: number;
  readonly ms: number;
}

/** What ran (`recorded`: stored under the key) or, when it could not start, the answer. */
export type Performed =
  | { readonly ran: true; readonly result: ActionResult; readonly recorded: boolean }
  | { readonly ran: false; readonly error: ActionErrorInfo };

export async function performAction(
  d: PerformDeps,
  req: ValidRequest,
  deadline: Deadline,
  startedAt: string,
  t0: number,
): Promise<Performed> {
  const client = d.client;
  if (client === null || client.isClosed) {
    const message = `${req.kind} cannot run: no libvirt connection`;
    return { ran: false, error: { code: ErrorCode.ACTION_UNAVAILABLE, message } };
  }
  const mutating = !READ_ONLY_KINDS.has(req.kind);
  const plannedName = createsNamed(req.kind) ? (req.params.name ?? d.generateName(req.uuid)) : null;
  if (mutating) {
    try {
      await d.store.writeMarker({
        v: 1,
        key: req.key,
        fingerprint: req.fingerprint,
        kind: req.kind,
        domain: { uuid: req.uuid, name: req.domainName },
        params: req.params,
        origin: req.origin,
        reason: req.reason,
        startedAt: d.now(),
        pid: process.pid,
        name: plannedName,
      });
    } catch (err) {
      const message = `${req.kind} did not start: cannot write its in-flight marker: ${describeError(err)}`;
      return { ran: false, error: { code: ErrorCode.ACTION_FAILED, message } };
    }
  }
  d.onStart(req);
  auditStart(d.log, req);
  const head = {
    kind: req.kind,
    domainUuid: req.uuid,
    idempotencyKey: req.key,
    duplicate: false,
    startedAt,
  };
  let ctx: OpContext | null = null;
  let result: ActionResult;
  try {
    const timeoutMs = Math.max(1, Math.floor(deadline.at - performance.now()));
    const dom = await client.lookupDomainByUuid(req.uuid, { signal: deadline.signal, timeoutMs });
    if (!dom) throw new ActionError(ErrorCode.ACTION_NOT_FOUND, `No domain with UUID ${req.uuid}`);
    ctx = new OpContext({
      client,
      dom,
      req,
      signal: deadline.signal,
      deadlineAt: deadline.at,
      log: d.log,
      now: d.now,
      pollIntervalMs: d.pollIntervalMs,
      plannedName,
    });
    const value = await OPERATIONS[req.kind](ctx);
    result = { ...head, ok: true, durationMs: Math.round(performance.now() - t0), result: value };
  } catch (err) {
    const error = toErrorInfo(err, {
      what: `${req.kind} on ${req.domainName ?? ctx?.dom.name ?? req.uuid}`,
      step: ctx?.currentStep ?? 'looking up the domain',
      deadline: deadline.signal,
      deadlineMs: deadline.ms,
      closing: d.closing(),
    });
    result = { ...head, ok: false, durationMs: Math.round(performance.now() - t0), error };
  }
  let recorded = true;
  try {
    await d.store.putRecord(req.key, req.fingerprint, result);
    if (mutating) await d.store.removeMarker(req.key);
  } catch (err) {
    recorded = false; // the marker stays: recover() will resolve and record it
    d.log.error(
      { idempotencyKey: req.key, err: describeError(err) },
      'cannot record the action result; its in-flight marker is kept',
    );
  }
  d.onEnd(req);
  auditEnd(d.log, req, result, 'end');
  return { ran: true, result, recorded };
}
