/**
 * What an operation gets: the client, the domain, the request, and the action's deadline as
 * an AbortSignal plus the time left, which every libvirt call receives. `step()` names what
 * the operation is doing, so a timeout or failure says where it happened.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainState } from '../libvirt/index.ts';
import type { CallOptions, Domain, LibvirtClient } from '../libvirt/index.ts';
import type { ActionLogger, StateSummary } from './types.ts';
import type { ValidRequest } from './validate.ts';

/** A domain's state with its numeric code. */
export interface DomainStateNow extends StateSummary {
  readonly code: number;
}

export class OpContext {
  readonly client: LibvirtClient;
  readonly dom: Domain;
  readonly req: ValidRequest;
  readonly signal: AbortSignal;
  readonly log: ActionLogger;
  readonly now: () => number;
  readonly pollIntervalMs: number;
  /** snapshot/checkpoint create: the name decided before the first libvirt call. */
  readonly plannedName: string | null;
  readonly #deadlineAt: number;
  #step = 'starting';

  constructor(o: {
    client: LibvirtClient;
    dom: Domain;
    req: ValidRequest;
    signal: AbortSignal;
    deadlineAt: number;
    log: ActionLogger;
    now: () => number;
    pollIntervalMs: number;
    plannedName: string | null;
  }) {
    this.client = o.client;
    this.dom = o.dom;
    this.req = o.req;
    this.signal = o.signal;
    this.#deadlineAt = o.deadlineAt;
    this.log = o.log;
    this.now = o.now;
    this.pollIntervalMs = o.pollIntervalMs;
    this.plannedName = o.plannedName;
  }

  /** What the operation is doing now (for messages). */
  get currentStep(): string {
    return this.#step;
  }

  step(what: string): void {
    this.#step = what;
  }

  /** Milliseconds left before the deadline (at least 1, so a call still gets a valid timer). */
  remainingMs(): number {
    return Math.max(1, Math.floor(this.#deadlineAt - performance.now()));
  }

  /** Per-call options: the deadline's signal and the time left. */
  call(): CallOptions {
    this.signal.throwIfAborted();
    return { signal: this.signal, timeoutMs: this.remainingMs() };
  }

  /** Sleeps, ending early (with an AbortError) when the deadline passes. */
  async sleep(ms: number): Promise<void> {
    await sleep(Math.min(ms, this.remainingMs()), undefined, { signal: this.signal });
  }

  async state(): Promise<DomainStateNow> {
    const s = await this.client.domainGetState(this.dom, this.call());
    return { state: s.stateName, reason: s.reasonName, code: s.state };
  }

  /** Polls until `pred` holds for the state, or `withinMs` passes (then returns the last state). */
  async waitForState(
    pred: (s: DomainStateNow) => boolean,
    withinMs: number,
  ): Promise<{ reached: boolean; state: DomainStateNow }> {
    const until = performance.now() + withinMs;
    for (;;) {
      const s = await this.state();
      if (pred(s)) return { reached: true, state: s };
      const left = until - performance.now();
      if (left <= 0) return { reached: false, state: s };
      await this.sleep(Math.min(this.pollIntervalMs, left));
    }
  }
}

/** The state is an active one: QEMU runs (running, paused, crashed with on_crash=preserve…). */
export function isActive(code: number): boolean {
  return code !== DomainState.SHUTOFF;
}

/** `{ state, reason }` without the code. */
export function summary(s: DomainStateNow): StateSummary {
  return { state: s.state, reason: s.reason };
}
