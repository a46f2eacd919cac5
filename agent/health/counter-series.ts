/**
 * Pure: turns a volatile EDAC counter into a monotonic one with a short history, so rates over
 * 1 h and 24 h survive counter resets (driver reload, boot, `reset_counters`) and agent
 * restarts. The kernel zeroes the counters at driver init and on `reset_counters`; a reset
 * shows as the value going down or `seconds_since_reset` growing less than the wall clock did.
 */

/** Persisted state of one counter. `cumulative = offset + lastRaw`. */
export interface CounterState {
  /** Last raw value read from sysfs. */
  readonly lastRaw: number;
  /** Errors counted before the resets seen so far. */
  readonly offset: number;
  /** When `lastRaw` was read (ms since the epoch). */
  readonly lastAt: number;
  /**
   * `[atMs, cumulative]`, oldest first: the first observation, every change, and a `[t, offset]`
   * point at each known reset time. Bounded by `maxSamples` and `maxAgeMs`.
   */
  readonly samples: readonly (readonly [number, number])[];
}

/** Bounds of a series. */
export interface SeriesLimits {
  /** A sample closer than this to the one before the last replaces the last. @default 300_000 */
  readonly minSpacingMs: number;
  /** Two samples at most this far apart date a change tightly enough. @default 900_000 */
  readonly maxGapMs: number;
  /** Samples older than this are dropped, except the newest such one (the window's base). @default 25 h */
  readonly maxAgeMs: number;
  /** Hard cap per series; the oldest go first. @default 640 */
  readonly maxSamples: number;
}

/** Defaults of {@link SeriesLimits}: at most two samples per 5 minutes, 25 hours kept. */
export const DEFAULT_SERIES_LIMITS: SeriesLimits = {
  minSpacingMs: 5 * 60_000,
  maxGapMs: 15 * 60_000,
  maxAgeMs: 25 * 3_600_000,
  maxSamples: 640,
};

/** The controller clock that dates a reading: `seconds_since_reset` and the previous value. */
export interface ResetClock {
  readonly secondsSinceReset: number | null;
  readonly previousSecondsSinceReset: number | null;
}

/** Slack for comparing `seconds_since_reset` with the wall clock (timer granularity, NTP steps). */
const RESET_SLACK_S = 60;

/**
 * Folds a new raw value into the state. Returns the new state and whether a reset was seen.
 * Errors that happened between the previous read and a reset are lost; nothing can recover them.
 */
export function observeCounter(
  prev: CounterState | undefined,
  raw: number,
  at: number,
  clock: ResetClock,
  limits: SeriesLimits = DEFAULT_SERIES_LIMITS,
): { state: CounterState; reset: boolean } {
  const ssr = clock.secondsSinceReset;
  const resetAt = ssr === null ? null : at - ssr * 1000;
  if (prev === undefined) {
    // The counter was 0 at its last reset; when that time is known it anchors the rates.
    const samples: [number, number][] = resetAt !== null && resetAt < at ? [[resetAt, 0]] : [];
    samples.push([at, raw]);
    return {
      state: { lastRaw: raw, offset: 0, lastAt: at, samples: prune(samples, at, limits) },
      reset: false,
    };
  }
  const elapsedS = (at - prev.lastAt) / 1000;
  const prevSsr = clock.previousSecondsSinceReset;
  const clockWentBack =
    ssr !== null && prevSsr !== null && ssr < prevSsr + elapsedS - RESET_SLACK_S;
  const reset = raw < prev.lastRaw || clockWentBack;
  const prevCum = prev.offset + prev.lastRaw;
  const offset = reset ? prevCum : prev.offset;
  const cum = offset + raw;
  const samples = prev.samples.map((x): [number, number] => [x[0], x[1]]);
  if (cum !== prevCum) {
    // The old value held until the previous read (or the reset, if that came later): record
    // it, so the change is dated between two close samples and not across a long flat stretch.
    const heldUntil = reset && resetAt !== null && resetAt > prev.lastAt ? resetAt : prev.lastAt;
    push(samples, [heldUntil, prevCum], limits);
    push(samples, [at, cum], limits);
  }
  return {
    state: { lastRaw: raw, offset, lastAt: at, samples: prune(samples, at, limits) },
    reset,
  };
}

function push(samples: [number, number][], s: [number, number], limits: SeriesLimits): void {
  const last = samples.at(-1);
  if (last !== undefined && last[0] === s[0] && last[1] === s[1]) return;
  const beforeLast = samples.at(-2);
  if (
    last !== undefined &&
    beforeLast !== undefined &&
    s[0] - beforeLast[0] < limits.minSpacingMs
  ) {
    samples[samples.length - 1] = s;
  } else {
    samples.push(s);
  }
}

/** The cumulative count now. */
export function cumulative(state: CounterState): number {
  return state.offset + state.lastRaw;
}

/**
 * Errors in the last `windowMs`, as an upper bound: cumulative now minus the cumulative of the
 * newest sample at or before the window start (counters only grow). `covered` says the bound is
 * tight: the window start falls on a flat stretch or between two close samples. Otherwise
 * (e.g. the first reading after install, with errors since a reset days ago) the errors are
 * attributed to the window — the safe side for a warning.
 */
export function countInWindow(
  state: CounterState,
  now: number,
  windowMs: number,
  limits: SeriesLimits = DEFAULT_SERIES_LIMITS,
): { count: number; covered: boolean } {
  const start = now - windowMs;
  let i = -1;
  while (i + 1 < state.samples.length && (state.samples[i + 1]?.[0] ?? now) <= start) i++;
  const base = state.samples[i];
  const next = state.samples[i + 1];
  if (base === undefined) {
    // The whole series lies inside the window: it starts at 0 only if the counter was zero.
    return { count: cumulative(state), covered: next === undefined || next[1] === 0 };
  }
  const covered = next === undefined || next[1] === base[1] || next[0] - base[0] <= limits.maxGapMs;
  return { count: cumulative(state) - base[1], covered };
}

function prune(samples: [number, number][], now: number, limits: SeriesLimits): [number, number][] {
  const cutoff = now - limits.maxAgeMs;
  let firstKept = 0;
  while (firstKept + 1 < samples.length && (samples[firstKept + 1]?.[0] ?? now) <= cutoff)
    firstKept++;
  const kept = samples.slice(firstKept);
  return kept.length > limits.maxSamples ? kept.slice(kept.length - limits.maxSamples) : kept;
}
