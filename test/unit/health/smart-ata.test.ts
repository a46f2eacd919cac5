import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseJson } from '../../../agent/health/lossless-json.ts';
import { decodeCommandTimeout, decodeSeagateRate } from '../../../agent/health/smart-ata.ts';
import { parseSmartReading } from '../../../agent/health/smart-parse.ts';
import { assessDisk } from '../../../agent/health/disk-risk.ts';

describe('Seagate packed raw values', () => {
  it('reads 188 = 4295032833 as one timeout, not four billion (Scrutiny #522)', () => {
    assert.equal(decodeCommandTimeout(4295032833, '4295032833')?.value, 1);
  });

  it('reads 188 = 51540393996 as 12 and 94490722326 as 22 (Scrutiny #748)', () => {
    assert.equal(decodeCommandTimeout(51540393996, undefined)?.value, 12);
    assert.equal(decodeCommandTimeout(94490722326, undefined)?.value, 22);
  });

  it('takes the largest of the three counters smartctl prints for 188', () => {
    assert.equal(decodeCommandTimeout(0, '0 0 3')?.value, 3);
    assert.equal(decodeCommandTimeout(0, '5 2 0')?.value, 5);
  });

  it('leaves a plain 188 count alone', () => {
    assert.equal(decodeCommandTimeout(29, '29'), undefined);
    assert.equal(decodeCommandTimeout(65536, '65536'), undefined);
  });

  it('splits a Seagate 1/7 rate into errors (bits 32-47) and operations', () => {
    const d = decodeSeagateRate(0x0003_0a1b_2c3dn);
    assert.equal(d?.value, 3);
    assert.match(d?.how ?? '', /3 errors in 169552957 operations/);
    assert.equal(decodeSeagateRate(123456789)?.value, 0);
  });

  it('judges a Seagate drive on the decoded values: no false alarm', () => {
    const doc = parseJson(
      JSON.stringify({
        smartctl: { exit_status: 0, argv: ['smartctl', '--json', '--', '/dev/sdx'] },
        device: { name: '/dev/sdx', type: 'sat', protocol: 'ATA' },
        model_family: 'Seagate Exos X18',
        model_name: 'ST18000NM000J-2TV103',
        serial_number: 'ZR5AAAAA',
        smart_status: { passed: true },
        ata_smart_attributes: {
          table: [
            {
              id: 1,
              name: 'Raw_Read_Error_Rate',
              value: 83,
              worst: 64,
              thresh: 44,
              when_failed: '',
              flags: { prefailure: true },
              raw: { value: 214634568, string: '214634568' },
            },
            {
              id: 7,
              name: 'Seek_Error_Rate',
              value: 90,
              worst: 60,
              thresh: 45,
              when_failed: '',
              flags: { prefailure: true },
              raw: { value: 978345132, string: '978345132' },
            },
            {
              id: 188,
              name: 'Command_Timeout',
              value: 100,
              worst: 99,
              thresh: 0,
              when_failed: '',
              flags: { prefailure: false },
              raw: { value: 94490722326, string: '94490722326' },
            },
            {
              id: 195,
              name: 'Hardware_ECC_Recovered',
              value: 83,
              worst: 64,
              thresh: 0,
              when_failed: '',
              flags: { prefailure: false },
              raw: { value: 214634568, string: '214634568' },
            },
          ],
        },
      }),
    );
    const r = parseSmartReading(doc, 'test');
    assert.equal(r.attributes.commandTimeouts, 22);
    assert.deepEqual(
      r.ataAttributes.map((a) => [a.id, a.decoded]),
      [
        [1, 0],
        [7, 0],
        [188, 22],
        [195, 0],
      ],
    );
    const a = assessDisk(r);
    assert.equal(a.risk, 'warning', '22 timeouts: investigate, not 94 billion: fail');
    assert.deepEqual(
      a.reasons.map((x) => x.code),
      ['command-timeouts'],
    );
  });
});
