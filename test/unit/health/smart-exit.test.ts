import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeExitStatus, describeExit } from '../../../agent/health/smart-exit.ts';

describe('smartctl exit status', () => {
  const names = [
    'COMMAND_LINE',
    'DEVICE_OPEN',
    'SMART_COMMAND_FAILED',
    'DISK_FAILING',
    'PREFAIL_AT_THRESHOLD',
    'THRESHOLD_IN_PAST',
    'ERROR_LOG',
    'SELF_TEST_ERRORS',
  ];
  names.forEach((name, bit) => {
    it(`decodes bit ${bit} as ${name}`, () => {
      const exit = decodeExitStatus(1 << bit);
      assert.deepEqual(exit.bits, [name]);
      assert.equal(exit.toolFailed, bit < 2);
    });
  });

  it('decodes 216 (a failing disk) as four findings', () => {
    const exit = decodeExitStatus(216);
    assert.deepEqual(exit.bits, [
      'DISK_FAILING',
      'PREFAIL_AT_THRESHOLD',
      'ERROR_LOG',
      'SELF_TEST_ERRORS',
    ]);
    assert.equal(exit.toolFailed, false);
    assert.equal(
      describeExit(exit),
      '216 (DISK_FAILING, PREFAIL_AT_THRESHOLD, ERROR_LOG, SELF_TEST_ERRORS)',
    );
  });

  it('keeps out-of-range values without bits', () => {
    assert.deepEqual(decodeExitStatus(-1).bits, []);
    assert.deepEqual(decodeExitStatus(256).bits, []);
    assert.equal(describeExit(decodeExitStatus(0)), '0');
  });
});
