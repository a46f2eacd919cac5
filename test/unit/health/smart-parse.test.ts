import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseJson } from '../../../agent/health/lossless-json.ts';
import { readingFromText } from '../../../agent/health/smart-parse.ts';
import { isScanDocument, parseScan } from '../../../agent/health/smart-scan.ts';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/smartctl/', import.meta.url));
const text = (name: string): string => readFileSync(`${DIR}${name}.json`, 'utf8');

describe('smartctl JSON → one disk model', () => {
  it('normalizes a failing ATA disk behind a USB bridge', () => {
    const r = readingFromText(text('ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8'), 'f');
    assert.deepEqual(r.identity, {
      key: 'wwn:5000cca37fca81a8',
      device: '/dev/sdc',
      type: 'usbjmicron',
      protocol: 'ATA',
      model: 'Hitachi HDS721050DLE630',
      family: 'Hitachi Deskstar 7K1000.D',
      serial: 'MSK423Y20S3HBC',
      wwn: '5000cca37fca81a8',
      firmware: r.identity.firmware,
      capacityBytes: r.identity.capacityBytes,
    });
    assert.deepEqual(r.attributes, {
      smartPassed: false,
      temperatureC: 25,
      powerOnHours: 65592,
      reallocatedSectors: 1975,
      pendingSectors: 8,
      offlineUncorrectable: 0,
      crcErrors: 0,
      ataErrorLogCount: 56,
    });
    assert.deepEqual(r.exit.bits, [
      'DISK_FAILING',
      'PREFAIL_AT_THRESHOLD',
      'ERROR_LOG',
      'SELF_TEST_ERRORS',
    ]);
  });

  it('normalizes NVMe and decodes nothing it should not', () => {
    const r = readingFromText(text('nvme-samsung-mzwll3t2hajq-critical-warning-16-FAILED'), 'f');
    assert.equal(r.identity.protocol, 'NVMe');
    assert.equal(r.identity.key, 'serial:SAMSUNG MZWLL3T2HAJQ-00005:REDACTED');
    assert.equal(r.attributes.nvmeCriticalWarning, 16);
    assert.equal(r.attributes.mediaErrors, 0);
    assert.equal(r.attributes.availableSpare, 100);
    assert.equal(r.attributes.availableSpareThreshold, 10);
    assert.equal(r.attributes.percentageUsed, 0);
    assert.equal(r.attributes.powerOnHours, 18376);
    assert.equal(r.ataAttributes.length, 0);
  });

  it('normalizes SAS: grown defects and the sum of uncorrected errors', () => {
    const r = readingFromText(text('sas-hitachi-h109060-healthy'), 'f');
    assert.equal(r.identity.protocol, 'SCSI');
    assert.equal(r.identity.model, 'HITACHI H109060SESUN600G');
    assert.equal(r.attributes.scsiGrownDefects, 0);
    assert.equal(r.attributes.scsiUncorrectedErrors, 0);
    assert.equal(r.attributes.temperatureC, 26);
    const doc = JSON.parse(text('sas-hitachi-h109060-healthy')) as {
      scsi_error_counter_log: Record<string, { total_uncorrected_errors: number }>;
    };
    doc.scsi_error_counter_log.read!.total_uncorrected_errors = 2;
    doc.scsi_error_counter_log.verify!.total_uncorrected_errors = 3;
    assert.equal(readingFromText(JSON.stringify(doc), 'f').attributes.scsiUncorrectedErrors, 5);
  });

  it('keeps a 128-bit NVMe counter exact', () => {
    const doc = JSON.parse(text('nvme-samsung-970-evo-plus-healthy')) as Record<string, unknown>;
    const json = JSON.stringify(doc).replace(
      '"media_errors":0',
      '"media_errors":340282366920938463463374607431768211455',
    );
    const r = readingFromText(json, 'f');
    assert.equal(r.attributes.mediaErrors, 2n ** 128n - 1n);
  });

  it('takes the device from argv when smartctl printed no device section', () => {
    const r = readingFromText(text('local-smartctl73-virtio-unable-to-detect-device-type'), 'f');
    assert.equal(r.identity.device, '/dev/vda');
    assert.equal(r.state, 'error');
    assert.deepEqual(r.messages, [
      { text: '/dev/vda: Unable to detect device type', severity: 'error' },
    ]);
  });

  it('turns garbage and non-smartctl JSON into error readings that say so', () => {
    const g = readingFromText('Segmentation fault\n', 'f', { device: '/dev/sdz' });
    assert.equal(g.state, 'error');
    assert.equal(g.failure?.code, 'bad-output');
    assert.match(g.failure?.message ?? '', /not JSON .*"Segmentation fault\\n"/);
    assert.equal(readingFromText('{"a":1}', 'f').failure?.code, 'bad-output');
  });
});

describe('smartctl --scan-open', () => {
  it('lists MegaRAID disks that share a name by type', () => {
    const doc = parseJson(text('megaraid-scan-json'));
    assert.ok(isScanDocument(doc));
    const devices = parseScan(doc);
    assert.equal(devices.length, 10);
    assert.deepEqual(devices.slice(2, 5), [
      { name: '/dev/sdc', type: 'sat', protocol: 'ATA', infoName: '/dev/sdc [SAT]' },
      {
        name: '/dev/bus/6',
        type: 'megaraid,8',
        protocol: 'SCSI',
        infoName: '/dev/bus/6 [megaraid_disk_08]',
      },
      {
        name: '/dev/bus/6',
        type: 'megaraid,9',
        protocol: 'SCSI',
        infoName: '/dev/bus/6 [megaraid_disk_09]',
      },
    ]);
    assert.deepEqual(
      parseScan(parseJson(text('scan-megaraid-scrutiny'))).map((d) => d.type),
      ['megaraid,0', 'megaraid,1'],
    );
  });

  it('reads "no devices key" as no devices', () => {
    const doc = parseJson(text('local-smartctl73-scan-no-devices'));
    assert.ok(isScanDocument(doc));
    assert.deepEqual(parseScan(doc), []);
  });
});
