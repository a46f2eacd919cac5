/**
 * The words every health verdict uses — for a DIMM, a disk, memory as a whole and the host —
 * and the reasons behind them. A reason names what was measured, the value, and the threshold
 * or rule it was held against, so an operator can check the verdict by hand.
 */

/** Verdict words. `unknown` means "could not be judged", never "probably fine". */
export const Risk = {
  HEALTHY: 'healthy',
  WARNING: 'warning',
  FAILING: 'failing',
  UNKNOWN: 'unknown',
} as const;
/** One of the four verdict words. */
export type Risk = (typeof Risk)[keyof typeof Risk];

/** How much a single reason weighs: `info` never changes a verdict. */
export const ReasonLevel = {
  INFO: 'info',
  WARNING: 'warning',
  FAILING: 'failing',
  UNKNOWN: 'unknown',
} as const;
/** One of the four reason weights. */
export type ReasonLevel = (typeof ReasonLevel)[keyof typeof ReasonLevel];

/** One finding. `code` is stable (tests and alert rules match on it); `message` is for people. */
export interface Reason {
  readonly code: string;
  readonly level: ReasonLevel;
  readonly message: string;
  /** The attribute or counter, e.g. `Reallocated_Sector_Ct (5)` or `mc0/dimm3 ce`. */
  readonly attribute?: string;
  readonly value?: number | bigint | string | boolean;
  /** The threshold or rule the value was held against, e.g. `>= 17` or `!= 0`. */
  readonly threshold?: string;
}

/** Builds a reason, leaving out the optional fields that are undefined. */
export function reason(
  code: string,
  level: ReasonLevel,
  message: string,
  detail: {
    attribute?: string | undefined;
    value?: number | bigint | string | boolean | undefined;
    threshold?: string | undefined;
  } = {},
): Reason {
  return {
    code,
    level,
    message,
    ...(detail.attribute === undefined ? {} : { attribute: detail.attribute }),
    ...(detail.value === undefined ? {} : { value: detail.value }),
    ...(detail.threshold === undefined ? {} : { threshold: detail.threshold }),
  };
}

/**
 * The verdict a set of reasons adds up to: any `failing` reason fails, else any `warning`
 * warns, else any `unknown` reason makes it unknown, else healthy.
 */
export function verdictOf(reasons: readonly Reason[]): Risk {
  if (reasons.some((r) => r.level === 'failing')) return Risk.FAILING;
  if (reasons.some((r) => r.level === 'warning')) return Risk.WARNING;
  if (reasons.some((r) => r.level === 'unknown')) return Risk.UNKNOWN;
  return Risk.HEALTHY;
}

const ORDER: Readonly<Record<Risk, number>> = { unknown: 0, healthy: 1, warning: 2, failing: 3 };

/**
 * The worst of several verdicts, ignoring `unknown` ones; `unknown` only when nothing could be
 * judged (or the list is empty). Callers report the unknown parts in their reasons.
 */
export function worstKnown(risks: readonly Risk[]): Risk {
  let worst: Risk = Risk.UNKNOWN;
  for (const r of risks) if (ORDER[r] > ORDER[worst]) worst = r;
  return worst;
}
