import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { assessDisk } from '../../../agent/health/disk-risk.ts';
import { parseJson } from '../../../agent/health/lossless-json.ts';
import { parseSmartReading, readingFromText } from '../../../agent/health/smart-parse.ts';
import type { SmartAttributes, SmartReading } from '../../../agent/health/smart-types.ts';
import { DEFAULT_DISK_THRESHOLDS } from '../../../agent/health/thresholds.ts';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/smartctl/', import.meta.url));

function capture(name: string): SmartReading {
  return readingFromText(readFileSync(`${DIR}${name}.json`, 'utf8'), `${name}.json`);
}

/** Every device capture: state, verdict and the exact reason codes, in order. */
const EXPECTED: [string, SmartReading['state'], string, string[], RegExp?][] = [
  ['ata-hdd-wdc-red-wd20efrx-healthy', 'ok', 'healthy', ['no-findings']],
  [
    'ata-hdd-hgst-crc-errors-errorlog-exit64',
    'ok',
    'warning',
    ['exit-error-log', 'crc-errors'],
    /UDMA_CRC_Error_Count \(199\) 12 >= 2/,
  ],
  [
    'ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8',
    'ok',
    'failing',
    [
      'smart-status-failed',
      'ata-attribute-failing-now',
      'exit-prefail-threshold',
      'exit-self-test-errors',
      'exit-error-log',
      'reallocated-sectors',
      'pending-sectors',
    ],
    /Reallocated_Sector_Ct \(5\) 1975 >= 17/,
  ],
  ['sata-ssd-samsung-pm883-healthy', 'ok', 'healthy', ['no-findings']],
  [
    'sata-ssd-micron-5300-attr188-nonzero',
    'ok',
    'warning',
    ['command-timeouts', 'crc-errors'],
    /Command_Timeout \(188\) 29 >= 1/,
  ],
  [
    'sata-ssd-samsung-840-crc108-scrutiny-failed',
    'ok',
    'warning',
    ['crc-errors'],
    /check the cable/,
  ],
  ['nvme-samsung-970-evo-plus-healthy', 'ok', 'healthy', ['no-findings', 'nvme-error-log-entries']],
  [
    'nvme-samsung-mzwll3t2hajq-critical-warning-16-FAILED',
    'ok',
    'failing',
    ['smart-status-failed', 'nvme-critical-warning'],
    /volatile_memory_backup_failed/,
  ],
  ['nvme-intel-p4510-percentage-used-75', 'ok', 'healthy', ['no-findings']],
  [
    'nvme-sabrent-rocket4-errorlog-selftestlog-7.4',
    'ok',
    'healthy',
    ['no-findings', 'nvme-error-log-entries'],
    /4871 NVMe error-log entries; not judged/,
  ],
  ['sas-hitachi-h109060-healthy', 'ok', 'healthy', ['no-findings']],
  ['sas-seagate-farm-log-7.4', 'ok', 'healthy', ['no-findings']],
  [
    'scsi-intel-raid1-volume-no-smart',
    'unsupported',
    'unknown',
    ['smart-unsupported'],
    /no SMART data/,
  ],
  [
    'error-unknown-usb-bridge-exit1-7.5',
    'error',
    'unknown',
    ['smartctl-error'],
    /^smartctl: \/dev\/disk\/by-id\/usb-Flash_Disk_3\.0_7966051146147389472-0:0: Unknown USB bridge \[0x048d:0x1234 \(0x200\)\]$/,
  ],
  [
    'local-smartctl73-open-failed-operation-not-permitted',
    'error',
    'unknown',
    ['smartctl-error'],
    /^smartctl: Smartctl open device: \/dev\/vda \[SAT\] failed: Operation not permitted$/,
  ],
  [
    'local-smartctl73-virtio-unable-to-detect-device-type',
    'error',
    'unknown',
    ['smartctl-error'],
    /^smartctl: \/dev\/vda: Unable to detect device type$/,
  ],
];

describe('disk verdicts for every real capture', () => {
  for (const [name, state, risk, codes, message] of EXPECTED) {
    it(`${name} → ${risk} (${codes.join(', ')})`, () => {
      const reading = capture(name);
      assert.equal(reading.state, state);
      const a = assessDisk(reading);
      assert.equal(a.risk, risk);
      assert.deepEqual(
        a.reasons.map((r) => r.code),
        codes,
      );
      if (message)
        assert.ok(
          a.reasons.some((r) => message.test(r.message)),
          JSON.stringify(a.reasons),
        );
    });
  }
});

function ata(attrs: SmartAttributes, extra: Partial<SmartReading> = {}): SmartReading {
  const base = readingFromText(
    readFileSync(`${DIR}ata-hdd-wdc-red-wd20efrx-healthy.json`, 'utf8'),
    'x',
  );
  return { ...base, ataAttributes: [], attributes: { smartPassed: true, ...attrs }, ...extra };
}

function verdict(attrs: SmartAttributes): [string, string[]] {
  const a = assessDisk(ata(attrs));
  return [a.risk, a.reasons.map((r) => `${r.code}:${r.level}`)];
}

describe('disk thresholds at their edges', () => {
  const cases: [SmartAttributes, string, string[]][] = [
    [{ reallocatedSectors: 0 }, 'healthy', ['no-findings:info']],
    [{ reallocatedSectors: 1 }, 'warning', ['reallocated-sectors:warning']],
    [{ reallocatedSectors: 16 }, 'warning', ['reallocated-sectors:warning']],
    [{ reallocatedSectors: 17 }, 'failing', ['reallocated-sectors:failing']],
    [{ reportedUncorrect: 1 }, 'failing', ['reported-uncorrect:failing']],
    [{ commandTimeouts: 100 }, 'warning', ['command-timeouts:warning']],
    [{ commandTimeouts: 101 }, 'failing', ['command-timeouts:failing']],
    [{ pendingSectors: 1 }, 'warning', ['pending-sectors:warning']],
    [{ pendingSectors: 2 }, 'failing', ['pending-sectors:failing']],
    [{ offlineUncorrectable: 1 }, 'failing', ['offline-uncorrectable:failing']],
    [{ crcErrors: 1 }, 'healthy', ['no-findings:info']],
    [{ crcErrors: 2 }, 'warning', ['crc-errors:warning']],
    [{ crcErrors: 1_000_000 }, 'warning', ['crc-errors:warning']],
    [{ mediaErrors: 1 }, 'failing', ['media-errors:failing']],
    [{ mediaErrors: 2n ** 70n }, 'failing', ['media-errors:failing']],
    [{ percentageUsed: 95 }, 'healthy', ['no-findings:info']],
    [{ percentageUsed: 96 }, 'warning', ['percentage-used:warning']],
    [{ percentageUsed: 100 }, 'failing', ['percentage-used:failing']],
    [{ availableSpare: 9, availableSpareThreshold: 10 }, 'failing', ['available-spare:failing']],
    [{ availableSpare: 10, availableSpareThreshold: 10 }, 'healthy', ['no-findings:info']],
    [{ nvmeCriticalWarning: 0x02 }, 'warning', ['nvme-critical-warning:warning']],
    [{ nvmeCriticalWarning: 0x04 }, 'failing', ['nvme-critical-warning:failing']],
    [{ nvmeCriticalWarning: 0x80 }, 'failing', ['nvme-critical-warning:failing']],
    [{ scsiGrownDefects: 1 }, 'warning', ['grown-defects:warning']],
    [{ scsiGrownDefects: 17 }, 'failing', ['grown-defects:failing']],
    [{ scsiUncorrectedErrors: 1 }, 'failing', ['scsi-uncorrected-errors:failing']],
    [{ smartPassed: false }, 'failing', ['smart-status-failed:failing']],
  ];
  for (const [attrs, risk, codes] of cases) {
    it(`${JSON.stringify(attrs, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))} → ${risk}`, () => {
      assert.deepEqual(verdict(attrs), [risk, codes]);
    });
  }

  it('names the attribute, value and threshold in each reason', () => {
    const r = assessDisk(ata({ pendingSectors: 8 })).reasons[0];
    assert.deepEqual(
      { attribute: r?.attribute, value: r?.value, threshold: r?.threshold, level: r?.level },
      { attribute: 'Current_Pending_Sector (197)', value: 8, threshold: '>= 2', level: 'failing' },
    );
  });

  it('uses configured thresholds', () => {
    const t = { ...DEFAULT_DISK_THRESHOLDS, crcErrors: { warnAt: 2, failAt: 50 } };
    assert.equal(assessDisk(ata({ crcErrors: 60 }), t).risk, 'failing');
    assert.equal(assessDisk(ata({ crcErrors: 60 })).risk, 'warning');
  });

  it('reports a past threshold crossing as a warning and a current one as failing', () => {
    const row = { id: 3, name: 'Spin_Up_Time', value: 20, thresh: 21, prefailure: true };
    assert.equal(
      assessDisk(ata({}, { ataAttributes: [{ ...row, whenFailed: 'past' }] })).risk,
      'warning',
    );
    assert.equal(
      assessDisk(ata({}, { ataAttributes: [{ ...row, whenFailed: 'now' }] })).risk,
      'failing',
    );
  });
});

describe('a sleeping disk', () => {
  const doc = parseJson(
    JSON.stringify({
      smartctl: {
        argv: ['smartctl', '--json', '--nocheck=standby', '--', '/dev/sdb'],
        messages: [{ string: 'Device is in STANDBY mode, exit(2)', severity: 'information' }],
        exit_status: 2,
      },
      device: { name: '/dev/sdb', info_name: '/dev/sdb [SAT]', type: 'sat', protocol: 'ATA' },
    }),
  );

  it('is reported as standby and unknown when nothing earlier is known', () => {
    const r = parseSmartReading(doc, '/dev/sdb');
    assert.equal(r.state, 'standby');
    const a = assessDisk(r);
    assert.equal(a.risk, 'unknown');
    assert.deepEqual(
      a.reasons.map((x) => x.code),
      ['standby'],
    );
    assert.match(
      a.reasons[0]?.message ?? '',
      /not woken \(--nocheck=standby\); no earlier reading/,
    );
  });

  it('is judged on its last known reading, and says so', () => {
    const last = capture('ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8');
    const a = assessDisk(parseSmartReading(doc, '/dev/sdb'), DEFAULT_DISK_THRESHOLDS, {
      reading: last,
      at: Date.UTC(2026, 0, 2),
    });
    assert.equal(a.risk, 'failing');
    assert.equal(a.reasons[0]?.code, 'standby');
    assert.match(
      a.reasons[0]?.message ?? '',
      /verdict from the reading of 2026-01-02T00:00:00.000Z/,
    );
  });
});
