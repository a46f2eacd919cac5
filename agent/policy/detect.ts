import type { DomainEvent } from '../libvirt/index.ts';
import type { Transition } from '../tracker/domain-tracker.ts';
import type { Policy } from './schema.ts';

/** What went wrong, by kind. */
export const FAILURE_KINDS = [
  'qemu-died', // STOPPED/FAILED: the QEMU process died
  'guest-crash', // CRASHED/* or STOPPED/CRASHED: the guest kernel panicked
  'watchdog', // the guest's watchdog fired
  'io-error', // paused on a disk I/O error (handled by the ioError policy)
  'guest-agent', // qemu-guest-agent stopped answering pings
  'guest-shutdown', // the guest powered itself off (a failure only under `always`)
  'admin-destroy', // someone destroyed it (a failure only under `always`)
  'io-error-killed', // killed by the ioError policy after staying paused: restart it
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A detected failure with the signal that showed it. */
export interface Failure {
  readonly kind: FailureKind;
  readonly uuid: string;
  readonly name: string;
  readonly at: number;
  /** The signal, e.g. `lifecycle Crashed/Panicked`, `watchdog Pause`, `guest-agent 3 missed pings`. */
  readonly signal: string;
  /** Seen on a re-listing after a gap, not from its event. */
  readonly late: boolean;
}

/**
 * Classifies a state transition. Returns null for everything that is not a failure under the
 * VM's policy: a guest's own power-off and an admin's destroy are failures only when the
 * policy says the VM must always run, and never when virt-ft's own action caused them (the
 * caller passes `ownAction`); a crash is a failure whoever started the VM.
 */
export function classifyTransition(
  t: Transition,
  policy: Policy,
  ownAction: boolean,
): Failure | null {
  const f = classify(t, policy);
  // Our own destroy or shutdown is never a failure; a crash during or right after our action is.
  if (f && ownAction && (f.kind === 'guest-shutdown' || f.kind === 'admin-destroy')) return null;
  return f;
}

function classify(t: Transition, policy: Policy): Failure | null {
  if (!t.to) return null;
  const { state, reason } = t.to;
  const base = { uuid: t.uuid, name: t.name, at: t.at, late: t.late };
  const signal = `${t.late ? 'resync' : 'lifecycle'} ${state}/${reason}`;
  if (state === 'Crashed') return { ...base, kind: 'guest-crash', signal };
  if (state === 'Shutoff') {
    // Event details (Failed, Crashed, …) and GET_STATE reasons (Crashed after a QEMU kill) differ.
    if (reason === 'Failed') return { ...base, kind: 'qemu-died', signal };
    if (reason === 'Crashed')
      return { ...base, kind: t.late ? 'qemu-died' : 'guest-crash', signal };
    const always = policy.restart.strategy === 'always';
    if (!always) return null;
    if (reason === 'Shutdown') return { ...base, kind: 'guest-shutdown', signal };
    if (reason === 'Destroyed') return { ...base, kind: 'admin-destroy', signal };
    return null;
  }
  if (state === 'Paused') {
    if (reason === 'IOError') return { ...base, kind: 'io-error', signal };
    if (reason === 'Watchdog' && policy.watchdogIsFailure)
      return { ...base, kind: 'watchdog', signal };
  }
  return null;
}

/** Classifies a non-lifecycle event (watchdog). */
export function classifyEvent(e: DomainEvent, policy: Policy, at: number): Failure | null {
  if (e.event === 'watchdog' && policy.watchdogIsFailure) {
    return {
      kind: 'watchdog',
      uuid: e.domain.uuid,
      name: e.domain.name,
      at,
      late: false,
      signal: `watchdog ${e.type ?? ''}`.trim(),
    };
  }
  return null;
}

/** Failure kinds whose recovery is the restart ladder (I/O errors have their own policy). */
export function isRestartFailure(kind: FailureKind): boolean {
  return kind !== 'io-error';
}
