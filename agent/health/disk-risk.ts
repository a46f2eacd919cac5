/**
 * Pure: a normalized SMART reading → disk verdict with reasons. The rules and their sources
 * are in thresholds.ts and docs/adr/0006-health-risk-model.md.
 */
import { EXIT_RULES, NVME_CRITICAL_WARNING_BITS, RULES, type Rule } from './disk-rules.ts';
import type { Count } from './json-access.ts';
import { reason, verdictOf, type Reason, type Risk } from './risk.ts';
import { describeExit, EXIT_BIT_MEANING, hasBit } from './smart-exit.ts';
import type { SmartAttributes, SmartReading } from './smart-types.ts';
import { DEFAULT_DISK_THRESHOLDS, type DiskThresholds, type LevelThreshold } from './thresholds.ts';

/** A disk verdict. */
export interface DiskAssessment {
  readonly risk: Risk;
  readonly reasons: readonly Reason[];
}

/**
 * Judges one reading. A disk in standby is judged on `lastKnown` (the last full reading) when
 * there is one, with a reason saying so; otherwise it is `unknown`.
 */
export function assessDisk(
  reading: SmartReading,
  thresholds: DiskThresholds = DEFAULT_DISK_THRESHOLDS,
  lastKnown?: { readonly reading: SmartReading; readonly at: number },
): DiskAssessment {
  if (reading.state === 'standby') {
    const note = `${reading.identity.device} is in a low-power mode and was not woken (--nocheck=standby)`;
    if (lastKnown === undefined || lastKnown.reading.state !== 'ok') {
      const r = [reason('standby', 'unknown', `${note}; no earlier reading is known`)];
      return { risk: verdictOf(r), reasons: r };
    }
    const when = new Date(lastKnown.at).toISOString();
    const past = assessDisk(lastKnown.reading, thresholds);
    const r = [
      reason('standby', 'info', `${note}; verdict from the reading of ${when}`),
      ...past.reasons,
    ];
    return { risk: past.risk, reasons: r };
  }
  if (reading.failure !== undefined) {
    const r = [reason(`smartctl-${reading.failure.code}`, 'unknown', reading.failure.message)];
    return { risk: verdictOf(r), reasons: r };
  }
  if (reading.state === 'error') {
    const said = reading.messages.filter((m) => m.severity === 'error').map((m) => m.text);
    const text = said.length > 0 ? said.join('; ') : `exit status ${describeExit(reading.exit)}`;
    const r = [
      reason('smartctl-error', 'unknown', `smartctl: ${text}`, { value: reading.exit.status }),
    ];
    return { risk: verdictOf(r), reasons: r };
  }
  if (reading.state === 'unsupported') {
    const extra = hasBit(reading.exit, 'SMART_COMMAND_FAILED')
      ? `; ${EXIT_BIT_MEANING.SMART_COMMAND_FAILED}`
      : '';
    const r = [
      reason(
        'smart-unsupported',
        'unknown',
        `no SMART data (logical RAID volume, or SMART unavailable)${extra}`,
        { value: reading.exit.status },
      ),
      // Findings in the exit status count even without a readable attribute table.
      ...exitReasons(reading).filter((x) => x.code !== 'exit-smart-command-failed'),
    ];
    return { risk: verdictOf(r), reasons: r };
  }
  const reasons = [
    ...statusReasons(reading),
    ...exitReasons(reading),
    ...attributeReasons(reading.attributes, thresholds),
  ];
  if (reasons.every((r) => r.level === 'info')) {
    reasons.unshift(
      reason(
        'no-findings',
        'info',
        'SMART status passed and every judged attribute is within its threshold',
      ),
    );
  }
  return { risk: verdictOf(reasons), reasons };
}

function statusReasons(reading: SmartReading): Reason[] {
  const out: Reason[] = [];
  if (reading.attributes.smartPassed === false) {
    out.push(
      reason('smart-status-failed', 'failing', 'SMART overall-health self-assessment: FAILED', {
        attribute: 'smart_status.passed',
        value: false,
        threshold: '== true',
      }),
    );
  }
  for (const at of reading.ataAttributes) {
    if (at.whenFailed === '') continue;
    const now = at.whenFailed === 'now';
    out.push(
      reason(
        now ? 'ata-attribute-failing-now' : 'ata-attribute-failed-in-past',
        now ? 'failing' : 'warning',
        `${at.name} (${at.id}) normalized value ${at.value ?? '?'} ${now ? 'is' : 'was'} at or below its threshold ${at.thresh ?? '?'}`,
        {
          attribute: `${at.name} (${at.id})`,
          ...(at.value === undefined ? {} : { value: at.value }),
          threshold: `<= ${at.thresh ?? '?'}`,
        },
      ),
    );
  }
  return out;
}

/** Findings carried by the exit status (bits 2–7); bit 3 only when smart_status didn't say it. */
function exitReasons(reading: SmartReading): Reason[] {
  const out: Reason[] = [];
  const exitValue = { value: reading.exit.status };
  if (hasBit(reading.exit, 'DISK_FAILING') && reading.attributes.smartPassed !== false) {
    const text = `smartctl exit bit: ${EXIT_BIT_MEANING.DISK_FAILING}`;
    out.push(reason('exit-disk-failing', 'failing', text, exitValue));
  }
  for (const [bit, level, code] of EXIT_RULES) {
    if (!hasBit(reading.exit, bit)) continue;
    const n = reading.attributes.ataErrorLogCount;
    const count = bit === 'ERROR_LOG' && n !== undefined ? ` (${n} entries)` : '';
    out.push(reason(code, level, `smartctl exit bit: ${EXIT_BIT_MEANING[bit]}${count}`, exitValue));
  }
  return out;
}

function attributeReasons(a: SmartAttributes, t: DiskThresholds): Reason[] {
  const out: Reason[] = [];
  for (const rule of RULES) {
    const r = levelReason(rule, a[rule.key], t[rule.key]);
    if (r !== null) out.push(r);
  }
  if (
    a.availableSpare !== undefined &&
    a.availableSpareThreshold !== undefined &&
    a.availableSpare < a.availableSpareThreshold
  ) {
    out.push(
      reason(
        'available-spare',
        'failing',
        `NVMe available_spare ${a.availableSpare} % is below its threshold ${a.availableSpareThreshold} %`,
        {
          attribute: 'NVMe available_spare',
          value: a.availableSpare,
          threshold: `>= ${a.availableSpareThreshold}`,
        },
      ),
    );
  }
  const cw = a.nvmeCriticalWarning ?? 0;
  for (const [bit, name, meaning] of NVME_CRITICAL_WARNING_BITS) {
    if ((cw & bit) === 0) continue;
    const level = (t.nvmeCriticalWarningWarnMask & bit) !== 0 ? 'warning' : 'failing';
    out.push(
      reason('nvme-critical-warning', level, `NVMe critical_warning bit ${name}: ${meaning}`, {
        attribute: `critical_warning.${name}`,
        value: cw,
        threshold: '== 0',
      }),
    );
  }
  if ((cw & ~0x3f) !== 0) {
    out.push(
      reason(
        'nvme-critical-warning',
        'failing',
        `NVMe critical_warning has unknown bits set (0x${cw.toString(16)})`,
        { attribute: 'critical_warning', value: cw, threshold: '== 0' },
      ),
    );
  }
  if (a.nvmeErrorLogEntries !== undefined && a.nvmeErrorLogEntries > 0) {
    out.push(
      reason(
        'nvme-error-log-entries',
        'info',
        `${a.nvmeErrorLogEntries} NVMe error-log entries; not judged (host-caused errors such as "Invalid Field in Command" count too)`,
        { attribute: 'NVMe num_err_log_entries', value: a.nvmeErrorLogEntries },
      ),
    );
  }
  return out;
}

function levelReason(
  rule: Rule,
  value: Count | number | boolean | undefined,
  t: LevelThreshold | number,
): Reason | null {
  if (typeof value !== 'number' && typeof value !== 'bigint') return null;
  if (typeof t === 'number') return null;
  const failing = t.failAt !== null && value >= t.failAt;
  if (!failing && value < t.warnAt) return null;
  const threshold = failing ? `>= ${t.failAt ?? ''}` : `>= ${t.warnAt}`;
  return reason(
    rule.code,
    failing ? 'failing' : 'warning',
    `${rule.label} ${value} ${threshold}: ${rule.why}`,
    { attribute: rule.label, value, threshold },
  );
}
