/**
 * Pure: the host's risk in the seed's terms. The probability that at least one of the host's
 * n disks fails within a year is P = 1 − Π(1 − pᵢ), pᵢ taken from each disk's verdict
 * (thresholds.ts: FailureProbabilities). The host verdict is the worst known verdict of memory
 * and disks; it is `unknown` only when nothing at all could be judged.
 */
import type { MemoryReport } from './memory.ts';
import { reason, worstKnown, type Reason, type Risk } from './risk.ts';
import { DEFAULT_FAILURE_PROBABILITIES, type FailureProbabilities } from './thresholds.ts';

/** What the host assessment needs to know about one disk. */
export interface HostDiskInput {
  readonly device: string;
  readonly label: string;
  readonly risk: Risk;
  readonly firstReason: string;
  /** `domain:target` of the VM disks on it. */
  readonly vms: readonly string[];
}

/** The `host` section of the report. */
export interface HostReport {
  /** P(at least one disk fails within a year), 0–1; `null` when the host has no disk. */
  readonly diskFailureProbability: number | null;
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
}

/** P = 1 − Π(1 − pᵢ). */
export function diskFailureProbability(
  risks: readonly Risk[],
  p: FailureProbabilities = DEFAULT_FAILURE_PROBABILITIES,
): number | null {
  if (risks.length === 0) return null;
  return 1 - risks.reduce((survive, r) => survive * (1 - p[r]), 1);
}

/** Judges the host. `notes` are extra info lines (e.g. "libvirt unavailable"). */
export function assessHost(
  memory: MemoryReport,
  disks: readonly HostDiskInput[],
  p: FailureProbabilities = DEFAULT_FAILURE_PROBABILITIES,
  notes: readonly Reason[] = [],
): HostReport {
  const reasons: Reason[] = [];
  if (memory.risk === 'failing' || memory.risk === 'warning') {
    const first = memory.reasons.find((r) => r.level === memory.risk)?.message ?? '';
    reasons.push(
      reason(`memory-${memory.risk}`, memory.risk, `memory is ${memory.risk}: ${first}`),
    );
  }
  for (const d of disks) {
    if (d.risk !== 'failing' && d.risk !== 'warning') continue;
    const vms = d.vms.length === 0 ? 'no VM disk traced to it' : `VMs at risk: ${d.vms.join(', ')}`;
    reasons.push(
      reason(`disk-${d.risk}`, d.risk, `disk ${d.label} is ${d.risk} (${d.firstReason}); ${vms}`, {
        attribute: d.device,
      }),
    );
  }
  const probability = diskFailureProbability(
    disks.map((d) => d.risk),
    p,
  );
  if (probability === null) {
    reasons.push(
      reason('no-disks', 'info', 'no disk was found or given, so no disk failure probability'),
    );
  } else {
    const counts = (['healthy', 'warning', 'failing', 'unknown'] as const)
      .map((r) => [r, disks.filter((d) => d.risk === r).length] as const)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${n} ${r} at ${pct(p[r])}`);
    reasons.push(
      reason(
        'disk-failure-probability',
        'info',
        `P(at least one of ${disks.length} disk${disks.length === 1 ? '' : 's'} fails within a year) = 1 − Π(1 − pᵢ) = ${pct(probability)} (${counts.join(', ')})`,
        { value: Number(probability.toFixed(6)) },
      ),
    );
  }
  if (memory.risk === 'unknown') {
    reasons.push(
      reason(
        'memory-unknown',
        'info',
        `memory not judged: ${memory.reasons[0]?.message ?? memory.status}`,
      ),
    );
  }
  const unknown = disks.filter((d) => d.risk === 'unknown');
  if (unknown.length > 0) {
    reasons.push(
      reason(
        'disks-unknown',
        'info',
        `${unknown.length} disk${unknown.length === 1 ? '' : 's'} not judged: ${unknown.map((d) => `${d.label} (${d.firstReason})`).join('; ')}`,
      ),
    );
  }
  reasons.push(...notes);
  const risk = worstKnown([memory.risk, ...disks.map((d) => d.risk)]);
  return {
    diskFailureProbability: probability === null ? null : Number(probability.toFixed(6)),
    risk,
    reasons,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 2 : 1)} %`;
}
