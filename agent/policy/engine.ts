import type { Failure } from './detect.ts';
import type { DomainRecord } from './records.ts';
import { latestKnownGood } from './records.ts';
import type { Policy } from './schema.ts';

/** What the policy decided, and why. Recorded before its action runs. */
export interface Decision {
  readonly action:
    'none' | 'restart' | 'revert' | 'quarantine' | 'resume' | 'kill' | 'leave-paused' | 'observe';
  /** Wait this long before acting (backoff, host throttle, kill-after). */
  readonly delayMs: number;
  /** The rule that fired, e.g. `restart`, `restart-backoff`, `revert-known-good`, `crash-loop`. */
  readonly rule: string;
  /** Signal, counts, thresholds: one line each. */
  readonly reasons: readonly string[];
  /** revert: the snapshot. */
  readonly snapshot?: string;
}

/** The host's view the engine needs: is a host incident throttling restarts? */
export interface HostContext {
  /** Earliest time the next automatic restart may run (host incident throttle), or null. */
  readonly nextRestartSlot: number | null;
  readonly incident: boolean;
}

/** Exponential backoff for the n-th (0-based) restart after the first. */
export function restartBackoffMs(policy: Policy, n: number, random: () => number): number {
  const r = policy.restart;
  const exp = Math.min(r.backoffMaxMs, r.backoffBaseMs * r.backoffFactor ** Math.max(0, n));
  return Math.round(exp * (1 - r.backoffJitter + 2 * r.backoffJitter * random()));
}

/**
 * The recovery ladder, as a pure function of the VM's record, the failure, its policy and the
 * host: restart at once → restart with backoff → revert to the last known-good snapshot (high
 * level, once per crash loop) → quarantine: stop trying and raise an alert.
 */
export function decide(
  record: DomainRecord,
  failure: Failure,
  policy: Policy,
  now: number,
  host: HostContext,
  random: () => number = Math.random,
): Decision {
  const signal = `signal: ${failure.signal}${failure.late ? ' (seen late, after a gap)' : ''}`;
  if (policy.level === 'off') {
    return {
      action: 'none',
      delayMs: 0,
      rule: 'level-off',
      reasons: [signal, 'policy level is off: watch only'],
    };
  }
  if (record.quarantine) {
    return {
      action: 'none',
      delayMs: 0,
      rule: 'quarantined',
      reasons: [
        signal,
        `quarantined since ${new Date(record.quarantine.at).toISOString()}: ${record.quarantine.reason}`,
      ],
    };
  }
  if (failure.kind === 'io-error') return decideIoError(record, policy, now, signal);

  const r = policy.restart;
  const recent = record.restarts.filter((t) => now - t <= r.windowMs);
  const counted = `automatic restarts in the last ${Math.round(r.windowMs / 1000)} s: ${recent.length} of ${r.maxRestarts} allowed`;
  if (recent.length < r.maxRestarts) {
    let delayMs = recent.length === 0 ? 0 : restartBackoffMs(policy, recent.length - 1, random);
    const reasons = [signal, counted];
    if (delayMs > 0) {
      reasons.push(
        `backoff ${delayMs} ms: ${r.backoffBaseMs} ms × ${r.backoffFactor}^${recent.length - 1}, cap ${r.backoffMaxMs} ms, jitter ±${Math.round(r.backoffJitter * 100)} %`,
      );
    }
    if (host.nextRestartSlot !== null && host.nextRestartSlot - now > delayMs) {
      delayMs = host.nextRestartSlot - now;
      reasons.push(`host incident: restarts throttled host-wide, next slot in ${delayMs} ms`);
    }
    return {
      action: 'restart',
      delayMs,
      rule: recent.length === 0 ? 'restart' : 'restart-backoff',
      reasons,
    };
  }
  const good = latestKnownGood(record);
  const revertedThisLoop = record.revertedAt !== null && now - record.revertedAt <= r.windowMs;
  if (policy.level === 'high' && policy.revertToKnownGood && good && !revertedThisLoop) {
    return {
      action: 'revert',
      delayMs: 0,
      rule: 'revert-known-good',
      snapshot: good.name,
      reasons: [
        signal,
        counted,
        `restarts exhausted: reverting to known-good snapshot ${good.name} (taken ${new Date(good.takenAt).toISOString()}, healthy ${Math.round(policy.snapshots.knownGoodAfterMs / 1000)} s after it)`,
      ],
    };
  }
  const why = revertedThisLoop
    ? 'it failed again after the revert to a known-good snapshot'
    : policy.level === 'high' && policy.revertToKnownGood
      ? 'restarts exhausted and no known-good snapshot to revert to'
      : 'restarts exhausted';
  return {
    action: 'quarantine',
    delayMs: 0,
    rule: 'crash-loop',
    reasons: [
      signal,
      counted,
      `quarantine: ${why}; no further automatic action until an operator acts`,
    ],
  };
}

function decideIoError(
  record: DomainRecord,
  policy: Policy,
  now: number,
  signal: string,
): Decision {
  const io = policy.ioError;
  switch (io.action) {
    case 'leave-paused':
      return {
        action: 'leave-paused',
        delayMs: 0,
        rule: 'io-error-leave-paused',
        reasons: [signal, 'ioError.action is leave-paused: the VM stays paused for an operator'],
      };
    case 'kill':
      return {
        action: 'kill',
        delayMs: io.killAfterMs,
        rule: 'io-error-kill',
        reasons: [
          signal,
          `ioError.action is kill: destroy after ${io.killAfterMs} ms still paused, then the restart ladder`,
        ],
      };
    case 'resume': {
      const resumes = record.failures.filter(
        (f) => f.kind === 'io-error' && now - f.at <= policy.restart.windowMs,
      ).length;
      if (resumes > io.maxResumes) {
        return {
          action: 'leave-paused',
          delayMs: 0,
          rule: 'io-error-resume-exhausted',
          reasons: [
            signal,
            `I/O errors in the window: ${resumes}, more than ioError.maxResumes ${io.maxResumes}: left paused`,
          ],
        };
      }
      return {
        action: 'resume',
        delayMs: 0,
        rule: 'io-error-resume',
        reasons: [
          signal,
          `ioError.action is resume (${resumes} of ${io.maxResumes} in the window)`,
        ],
      };
    }
  }
}
