/**
 * The readable form of a health report: verdicts first, then what they rest on. Info reasons are
 * shown for the host and for components that could not be judged; for healthy DIMMs and disks
 * only their findings are shown, so a big host stays readable.
 */
import type { HealthReport } from './report.ts';
import { diskLabel } from './report.ts';
import type { Reason, Risk } from './risk.ts';

const WORD: Readonly<Record<Risk, string>> = {
  healthy: 'HEALTHY',
  warning: 'WARNING',
  failing: 'FAILING',
  unknown: 'UNKNOWN',
};

/** Renders the report as plain text lines (no colours, no trailing spaces). */
export function renderHealthText(report: HealthReport): string {
  const out: string[] = [];
  const { host, memory, disks } = report;
  out.push(
    `Host: ${WORD[host.risk]}${host.risk === 'unknown' ? ' (nothing could be judged)' : ''}`,
  );
  for (const r of host.reasons) out.push(`  - ${r.message}`);

  out.push('', `Memory (EDAC): ${WORD[memory.risk]}`);
  for (const r of memory.reasons) out.push(`  - ${r.message}`);
  for (const c of memory.controllers) {
    const name = c.mcName === null ? c.name : `${c.name} (${c.mcName})`;
    out.push(
      `  ${name}: layout ${c.layout}, CE ${count(c.ce)}, UE ${count(c.ue)}, ${WORD[c.risk].toLowerCase()}`,
    );
  }
  for (const d of memory.dimms) {
    const findings = d.reasons.filter((r) => r.level !== 'info');
    if (findings.length === 0 && (d.ce ?? 0) === 0 && (d.ue ?? 0) === 0) continue;
    const rate =
      d.ceRate24h === null ? '' : `, ${d.ceRate24h} CE/24 h${d.ratesExact ? '' : ' (upper bound)'}`;
    out.push(
      `  ${WORD[d.risk].padEnd(7)} ${d.label}${d.location === null ? '' : ` [${d.location}]`}: CE ${count(d.ce)}, UE ${count(d.ue)}${rate}`,
    );
    for (const r of findings) out.push(`      ${r.message}`);
  }

  const smartOk = disks.filter((d) => d.state === 'ok' || d.state === 'standby').length;
  out.push(
    '',
    `Disks: ${disks.length === 0 ? 'none' : `${disks.length}`}${disks.length > 0 && smartOk === 0 ? ' — no SMART-capable disk' : ''}`,
  );
  for (const d of disks) {
    out.push(
      `  ${WORD[d.risk].padEnd(7)} ${diskLabel(d)}${d.source !== d.device ? `  <- ${d.source}` : ''}`,
    );
    const shown = d.risk === 'healthy' ? d.reasons.filter((r) => r.level !== 'info') : d.reasons;
    for (const r of shown) out.push(`      ${describe(r)}`);
    if (d.vms.length > 0) {
      out.push(
        `      VMs: ${d.vms.map((v) => `${v.domain}:${v.target ?? '?'}${v.backingDepth > 0 ? ' (backing)' : ''}`).join(', ')}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

function describe(r: Reason): string {
  return r.level === 'info' || r.level === 'unknown' ? r.message : `${r.level}: ${r.message}`;
}

function count(n: number | null): string {
  return n === null ? 'n/a' : String(n);
}
