/**
 * Pure: an EDAC reading plus its rates → memory verdicts per DIMM, per controller and overall.
 * Any uncorrected error since the last counter reset or in the last 24 h fails the unit; a
 * corrected-error rate at rasdaemon's page-offline threshold (50 per 24 h) warns. The numbers
 * and their sources are in thresholds.ts and ADR 0006.
 */
import type { EdacController, EdacUnit } from './edac-parse.ts';
import type { EdacReading } from './edac.ts';
import type { EdacObservation, UnitRates } from './history.ts';
import { reason, verdictOf, worstKnown, type Reason, type Risk } from './risk.ts';
import { DEFAULT_MEMORY_THRESHOLDS, type MemoryThresholds } from './thresholds.ts';

/** One DIMM (or rank, or csrow channel) in the report. */
export interface DimmReport {
  readonly key: string;
  readonly controller: string;
  readonly kind: EdacUnit['kind'];
  readonly label: string;
  readonly location: string | null;
  /** Cumulative since virt-ft first saw the unit (across counter resets); `null`: not exposed. */
  readonly ce: number | null;
  readonly ue: number | null;
  readonly ceRate1h: number | null;
  readonly ceRate24h: number | null;
  readonly ueRate1h: number | null;
  readonly ueRate24h: number | null;
  /** False when the 24 h rates are upper bounds (no history reaching back 24 h yet). */
  readonly ratesExact: boolean;
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
}

/** One memory controller in the report. */
export interface ControllerReport {
  readonly name: string;
  readonly mcName: string | null;
  readonly layout: EdacController['layout'];
  readonly sizeMb: number | null;
  readonly secondsSinceReset: number | null;
  readonly ce: number | null;
  readonly ue: number | null;
  readonly ceNoinfo: number | null;
  readonly ueNoinfo: number | null;
  readonly ceRate24h: number | null;
  readonly ueRate24h: number | null;
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
  readonly notes: readonly string[];
}

/** The `memory` section of the health report. */
export interface MemoryReport {
  readonly status: EdacReading['status'];
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
  readonly controllers: readonly ControllerReport[];
  readonly dimms: readonly DimmReport[];
}

const NO_RATES: UnitRates = {
  ce: null,
  ue: null,
  ceRate1h: null,
  ceRate24h: null,
  ueRate1h: null,
  ueRate24h: null,
  exact24h: false,
};

/** Judges memory. `obs` comes from `HealthHistory.observeEdac` for the same reading. */
export function assessMemory(
  reading: EdacReading,
  obs: EdacObservation | null,
  thresholds: MemoryThresholds = DEFAULT_MEMORY_THRESHOLDS,
): MemoryReport {
  if (reading.status === 'no-data') {
    const r = [reason(reading.absence, 'unknown', reading.message)];
    return { status: 'no-data', risk: 'unknown', reasons: r, controllers: [], dimms: [] };
  }
  if (reading.status === 'error') {
    const r = [reason('edac-read-error', 'unknown', reading.message)];
    return { status: 'error', risk: 'unknown', reasons: r, controllers: [], dimms: [] };
  }
  const dimms: DimmReport[] = [];
  const controllers: ControllerReport[] = [];
  for (const c of reading.controllers) {
    for (const u of c.units) {
      const rates = obs?.rates.get(u.key) ?? NO_RATES;
      const reasons = unitReasons(u.key, u.ce, u.ue, rates, thresholds, true);
      if (u.ue === null) {
        reasons.push(
          reason(
            'dimm-ue-not-reported',
            'info',
            `${u.key}: the driver exposes no per-DIMM UE counter; ${c.name}/ue_count still counts UEs`,
          ),
        );
      }
      dimms.push({
        key: u.key,
        controller: c.name,
        kind: u.kind,
        label: u.label ?? u.key,
        location: u.location,
        ce: rates.ce ?? u.ce,
        ue: rates.ue ?? u.ue,
        ceRate1h: rates.ceRate1h,
        ceRate24h: rates.ceRate24h,
        ueRate1h: rates.ueRate1h,
        ueRate24h: rates.ueRate24h,
        ratesExact: rates.exact24h,
        risk: verdictOf(reasons),
        reasons,
      });
    }
    const rates = obs?.rates.get(c.name) ?? NO_RATES;
    // Per-DIMM data judges CEs where it exists; controller totals judge UEs always.
    const reasons = unitReasons(c.name, c.ce, c.ue, rates, thresholds, c.layout === 'none');
    if ((c.ueNoinfo ?? 0) > 0)
      reasons.push(
        reason(
          'controller-ue-noinfo',
          'failing',
          `${c.name}: ${c.ueNoinfo ?? 0} uncorrected errors the driver could not attribute to a DIMM`,
          {
            attribute: `${c.name}/ue_noinfo_count`,
            value: c.ueNoinfo ?? 0,
            threshold: `>= ${thresholds.ueFail}`,
          },
        ),
      );
    if ((c.ceNoinfo ?? 0) > 0)
      reasons.push(
        reason(
          'controller-ce-noinfo',
          'info',
          `${c.name}: ${c.ceNoinfo ?? 0} corrected errors the driver could not attribute to a DIMM`,
          { attribute: `${c.name}/ce_noinfo_count`, value: c.ceNoinfo ?? 0 },
        ),
      );
    if (obs?.resets.includes(c.name) === true)
      reasons.push(
        reason(
          'counter-reset',
          'info',
          `${c.name}: counters were reset (driver reload, reboot or reset_counters); earlier counts are kept`,
        ),
      );
    for (const note of c.notes)
      reasons.push(reason('edac-layout-note', 'info', `${c.name}: ${note}`));
    controllers.push({
      name: c.name,
      mcName: c.mcName,
      layout: c.layout,
      sizeMb: c.sizeMb,
      secondsSinceReset: c.secondsSinceReset,
      ce: rates.ce ?? c.ce,
      ue: rates.ue ?? c.ue,
      ceNoinfo: c.ceNoinfo,
      ueNoinfo: c.ueNoinfo,
      ceRate24h: rates.ceRate24h,
      ueRate24h: rates.ueRate24h,
      // A controller is as bad as its worst DIMM, even when its own totals aren't judged.
      risk: worstKnown([
        verdictOf(reasons),
        ...dimms.filter((d) => d.controller === c.name).map((d) => d.risk),
      ]),
      reasons,
      notes: c.notes,
    });
  }
  const risk = worstKnown([...dimms.map((d) => d.risk), ...controllers.map((c) => c.risk)]);
  return {
    status: 'ok',
    risk: risk === 'unknown' ? 'healthy' : risk,
    reasons: summary(dimms, controllers),
    controllers,
    dimms,
  };
}

function unitReasons(
  name: string,
  ce: number | null,
  ue: number | null,
  rates: UnitRates,
  t: MemoryThresholds,
  judgeCe: boolean,
): Reason[] {
  const out: Reason[] = [];
  const ue24 = rates.ueRate24h ?? 0;
  const ueNow = ue ?? 0;
  if (ueNow >= t.ueFail || ue24 >= t.ueFail) {
    const n = Math.max(ueNow, ue24);
    out.push(
      reason(
        'uncorrected-errors',
        'failing',
        `${name}: ${n} uncorrected memory error${n === 1 ? '' : 's'} (any uncorrected error is data loss)`,
        { attribute: `${name} ue`, value: n, threshold: `>= ${t.ueFail}` },
      ),
    );
  }
  const ce24 = rates.ceRate24h ?? ce;
  if (judgeCe && ce24 !== null && ce24 > 0) {
    const bound = rates.exact24h
      ? ''
      : ' (upper bound: no history reaches back 24 h, so every error since the last counter reset is counted)';
    const warn = ce24 >= t.cePer24hWarn;
    out.push(
      reason(
        warn ? 'ce-rate' : 'ce-below-threshold',
        warn ? 'warning' : 'info',
        `${name}: ${ce24} corrected errors in 24 h ${warn ? '>=' : '<'} ${t.cePer24hWarn} (rasdaemon soft-offlines a page at 50 per 24 h)${bound}`,
        { attribute: `${name} ce per 24h`, value: ce24, threshold: `>= ${t.cePer24hWarn}` },
      ),
    );
  }
  return out;
}

function summary(dimms: readonly DimmReport[], controllers: readonly ControllerReport[]): Reason[] {
  const findings = [...controllers, ...dimms].flatMap((x) =>
    x.reasons.filter((r) => r.level !== 'info'),
  );
  const ce = controllers.reduce((n, c) => n + (c.ce ?? 0), 0);
  const ue = controllers.reduce((n, c) => n + (c.ue ?? 0), 0);
  const what = `${dimms.length} DIMM/rank units on ${controllers.length} memory controller${controllers.length === 1 ? '' : 's'}`;
  if (findings.length > 0) return findings;
  if (ce === 0 && ue === 0)
    return [
      reason('no-memory-errors', 'info', `EDAC: ${what}, 0 corrected and 0 uncorrected errors`),
    ];
  return [
    reason(
      'memory-errors-below-threshold',
      'info',
      `EDAC: ${what}, ${ce} corrected and ${ue} uncorrected errors, below every threshold`,
    ),
  ];
}
