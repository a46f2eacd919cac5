/**
 * The action executor: the only code that changes VMs. Each request is validated before
 * anything else, deduplicated by its idempotency key (in memory while it runs, on disk for the
 * retention period after), serialized per VM, run under one deadline whose AbortSignal reaches
 * every libvirt call, audited at start and end, and guarded by an in-flight marker written
 * (fsynced) before its first libvirt call and removed once its result is recorded, so a crash in
 * the middle is found and resolved by {@link ActionExecutor.recover} on the next start.
 *
 * `run()` never throws: every failure is an `ok: false` result with a stable code.
 */
import { performance } from 'node:perf_hooks';
import { describeError, ErrorCode } from '../../shared/errors.ts';
import { auditEnd, auditInvalid } from './audit.ts';
import { DomainLocks } from './domain-locks.ts';
import { ActionError } from './errors.ts';
import type { ActionErrorInfo } from './errors.ts';
import { uniqueName } from './names.ts';
import { performAction } from './perform.ts';
import type { PerformDeps } from './perform.ts';
import { recoverMarkers } from './recover.ts';
import { ActionStore } from './store.ts';
import { ACTION_KINDS } from './types.ts';
import type {
  ActionExecutorOptions,
  ActionKind,
  ActionLogger,
  ActionRequest,
  ActionResult,
  RecoveryEntry,
} from './types.ts';
import { validateRequest } from './validate.ts';
import type { ValidRequest } from './validate.ts';

/** A result, and whether it is stored under its key (later requests then get it as a duplicate). */
interface Outcome {
  readonly result: ActionResult;
  readonly recorded: boolean;
}

const SWEEP_INTERVAL_MS = 3_600_000;

export class ActionExecutor {
  readonly #o: ActionExecutorOptions;
  readonly #log: ActionLogger;
  readonly #now: () => number;
  readonly #store: ActionStore;
  readonly #locks: DomainLocks;
  readonly #inflight = new Map<string, { fingerprint: string; promise: Promise<Outcome> }>();
  readonly #active = new Map<string, ActionKind>();
  /** The kind holding each VM's lock (for busy answers). */
  readonly #holders = new Map<string, ActionKind>();
  readonly #recent = new Map<string, { kind: ActionKind; endedAt: number }>();
  readonly #generated = new Map<string, Set<string>>();
  readonly #closeAbort = new AbortController();
  #closing: Promise<{ drained: boolean }> | null = null;
  #lastSweep = -Infinity;

  constructor(options: ActionExecutorOptions) {
    const t = options.actionTimeoutMs;
    if (!(Number.isInteger(t) && t > 0 && t <= 2 ** 31 - 1)) {
      throw new RangeError(`actionTimeoutMs must be an integer from 1 to 2^31-1, got ${t}`);
    }
    this.#o = options;
    this.#log = options.log.child({ component: 'actions' });
    this.#now = options.now ?? Date.now;
    this.#store = new ActionStore(
      options.stateDir,
      options.keyRetentionMs ?? 86_400_000,
      this.#now,
    );
    this.#locks = new DomainLocks(options.maxQueuePerDomain ?? 4);
  }

  /** Runs one action; never throws. See the module comment and {@link ActionResult}. */
  async run(input: ActionRequest): Promise<ActionResult> {
    const t0 = performance.now();
    const startedAt = new Date(this.#now()).toISOString();
    const v = validateRequest(input);
    if (!v.ok) {
      auditInvalid(this.#log, input, v.message);
      const message = `Invalid action request: ${v.message}`;
      return invalidAnswer(input, { code: ErrorCode.ACTION_INVALID, message }, startedAt, t0);
    }
    const req = v.request;
    const existing = this.#inflight.get(req.key);
    if (existing) {
      if (existing.fingerprint !== req.fingerprint) return this.#answer(req, conflict(req), t0);
      const o = await existing.promise;
      if (!o.recorded) return o.result;
      const dup = { ...o.result, duplicate: true };
      auditEnd(this.#log, req, dup, 'answered');
      return dup;
    }
    if (this.#closing) {
      const message = 'The action executor is closing: no new actions';
      return this.#answer(req, { code: ErrorCode.ACTION_UNAVAILABLE, message }, t0, startedAt);
    }
    const promise = this.#execute(req, startedAt, t0);
    this.#inflight.set(req.key, { fingerprint: req.fingerprint, promise });
    try {
      return (await promise).result;
    } finally {
      this.#inflight.delete(req.key);
    }
  }

  /**
   * The kind of the action running on `uuid`, or of one that ended less than `eventGraceMs`
   * ago (its lifecycle events may still arrive); null otherwise. Lets the policy layer tell its
   * own actions' events from real failures.
   */
  activeAction(uuid: string): ActionKind | null {
    const id = uuid.toLowerCase();
    const kind = this.#active.get(id);
    if (kind) return kind;
    const r = this.#recent.get(id);
    if (r && performance.now() - r.endedAt <= (this.#o.eventGraceMs ?? 2_000)) return r.kind;
    return null;
  }

  /**
   * Finds the in-flight markers a crash left behind and resolves each against libvirt; the
   * outcome is recorded under its idempotency key (so a retry returns it instead of acting) and
   * the marker removed. While libvirt is unreachable, markers stay (`pending`): call it again.
   * Also drops expired idempotency keys. Call it on startup, once libvirt is connected.
   */
  async recover(): Promise<RecoveryEntry[]> {
    await this.#sweep(true);
    return recoverMarkers({
      store: this.#store,
      locks: this.#locks,
      client: this.#o.client(),
      log: this.#log,
      running: (key) => this.#inflight.has(key),
      timeoutMs: this.#o.actionTimeoutMs,
      pollIntervalMs: this.#o.pollIntervalMs ?? 200,
    });
  }

  /**
   * Stops accepting actions, answers queued ones unavailable, and waits up to `timeoutMs` for
   * running ones; past that, aborts them (their libvirt calls end at once, the outcome of the
   * last one unknown). Idempotent: a second caller shares the first one's promise.
   */
  close(timeoutMs = 10_000): Promise<{ drained: boolean }> {
    this.#closing ??= (async () => {
      const closed = new ActionError(
        ErrorCode.ACTION_UNAVAILABLE,
        'The action executor is closing',
      );
      this.#locks.failWaiters(closed);
      const running = () => Promise.all([...this.#inflight.values()].map((e) => e.promise));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => {
          r('timeout');
        }, timeoutMs);
      });
      const drained = (await Promise.race([running().then(() => 'ok' as const), timeout])) === 'ok';
      clearTimeout(timer);
      if (!drained) {
        this.#closeAbort.abort(closed);
        await running();
      }
      return { drained };
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #execute(req: ValidRequest, startedAt: string, t0: number): Promise<Outcome> {
    const answer = (error: ActionErrorInfo): Outcome => ({
      result: this.#answer(req, error, t0, startedAt),
      recorded: false,
    });
    const ms = req.deadlineMs ?? this.#o.actionTimeoutMs;
    const at = t0 + ms;
    const timeout = AbortSignal.timeout(Math.max(1, Math.floor(at - performance.now())));
    const signal = AbortSignal.any([timeout, this.#closeAbort.signal]);
    // The VM's queue is joined synchronously, at arrival, so actions run in the order they came;
    // the place is given up if the key turns out to be answered already.
    const giveUp = new AbortController();
    const lock = this.#locks.acquire(
      req.uuid,
      req.ifBusy,
      AbortSignal.any([signal, giveUp.signal]),
    );
    if (lock !== 'busy') {
      // Handled here too: a wait failed by close() may reject before it is awaited below.
      void lock.then(
        () => this.#holders.set(req.uuid, req.kind),
        () => undefined,
      );
    }
    const abandon = () => {
      if (lock === 'busy') return;
      giveUp.abort();
      void lock.then(
        (release) => {
          release();
        },
        () => undefined,
      );
    };
    try {
      await this.#sweep(false);
      const rec = await this.#store.getRecord(req.key);
      if (rec) {
        abandon();
        if (rec.fingerprint !== req.fingerprint) return answer(conflict(req));
        const dup = { ...rec.result, duplicate: true };
        auditEnd(this.#log, req, dup, 'answered');
        return { result: dup, recorded: true };
      }
      if (await this.#store.hasMarker(req.key)) {
        abandon();
        const message = `An earlier attempt of ${req.kind} with key ${req.key} was interrupted and is not resolved yet: recover() resolves it`;
        return answer({ code: ErrorCode.ACTION_UNKNOWN, message });
      }
    } catch (err) {
      abandon();
      const message = `${req.kind} could not run: ${describeError(err)}`;
      return answer({ code: ErrorCode.ACTION_FAILED, message });
    }
    if (lock === 'busy') {
      const running = this.#holders.get(req.uuid) ?? 'another action';
      const why = req.ifBusy === 'reject' ? '' : ': its queue is full';
      const message = `Domain ${req.domainName ?? req.uuid} is busy with ${running} (${this.#locks.queued(req.uuid)} waiting)${why}`;
      return answer({ code: ErrorCode.ACTION_BUSY, message });
    }
    let release: () => void;
    try {
      release = await lock;
    } catch {
      if (this.#closing !== null) {
        const message = 'The action executor closed while the action waited for its turn';
        return answer({ code: ErrorCode.ACTION_UNAVAILABLE, message });
      }
      const message = `${req.kind} waited ${ms} ms for another action on the domain to finish and never started`;
      return answer({ code: ErrorCode.ACTION_TIMEOUT, message });
    }
    try {
      const p = await performAction(this.#deps(), req, { signal, at, ms }, startedAt, t0);
      return p.ran ? { result: p.result, recorded: p.recorded } : answer(p.error);
    } catch (err) {
      const message = `${req.kind} could not run: ${describeError(err)}`;
      return answer({ code: ErrorCode.ACTION_FAILED, message });
    } finally {
      release();
    }
  }

  #deps(): PerformDeps {
    return {
      client: this.#o.client(),
      store: this.#store,
      log: this.#log,
      now: this.#now,
      pollIntervalMs: this.#o.pollIntervalMs ?? 200,
      generateName: (uuid) => this.#generateName(uuid),
      closing: () => this.#closeAbort.signal.aborted,
      onStart: (req) => this.#active.set(req.uuid, req.kind),
      onEnd: (req) => {
        this.#active.delete(req.uuid);
        this.#recent.set(req.uuid, { kind: req.kind, endedAt: performance.now() });
      },
    };
  }

  /** A fresh name; remembers the ones made in this process so two in one second differ. */
  #generateName(uuid: string): string {
    let set = this.#generated.get(uuid);
    if (!set) this.#generated.set(uuid, (set = new Set()));
    const name = uniqueName(this.#now(), set);
    set.add(name);
    if (set.size > 64) set.delete(set.values().next().value ?? name);
    return name;
  }

  async #sweep(force: boolean): Promise<void> {
    const t = performance.now();
    if (!force && t - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = t;
    const removed = await this.#store.sweep();
    if (removed > 0) this.#log.info({ removed }, 'expired idempotency keys removed');
  }

  /** An answer without running (not recorded), audited. */
  #answer(req: ValidRequest, error: ActionErrorInfo, t0: number, startedAt?: string): ActionResult {
    const r: ActionResult = {
      ok: false,
      kind: req.kind,
      domainUuid: req.uuid,
      idempotencyKey: req.key,
      duplicate: false,
      startedAt: startedAt ?? new Date(this.#now()).toISOString(),
      durationMs: Math.round(performance.now() - t0),
      error,
    };
    auditEnd(this.#log, req, r, 'answered');
    return r;
  }
}

function conflict(req: ValidRequest): ActionErrorInfo {
  return {
    code: ErrorCode.ACTION_CONFLICT,
    message: `Idempotency key ${req.key} was used for a different request (kind, domain or parameters differ)`,
  };
}

/** The answer to an invalid request: echoes only what is well-formed. */
function invalidAnswer(
  input: unknown,
  error: ActionErrorInfo,
  startedAt: string,
  t0: number,
): ActionResult {
  const o = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const d = o['domain'];
  const uuid =
    typeof d === 'object' && d !== null ? (d as Record<string, unknown>)['uuid'] : undefined;
  const key = o['idempotencyKey'];
  return {
    ok: false,
    // A request without a valid kind gets the one that changes nothing, as a placeholder.
    kind: ACTION_KINDS.find((k) => k === o['kind']) ?? 'snapshot.list',
    domainUuid: typeof uuid === 'string' ? uuid.slice(0, 36) : '',
    idempotencyKey: typeof key === 'string' ? key.slice(0, 200) : '',
    duplicate: false,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    error,
  };
}
