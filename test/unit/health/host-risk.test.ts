import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { assessHost, diskFailureProbability } from '../../../agent/health/host-risk.ts';
import type { MemoryReport } from '../../../agent/health/memory.ts';
import type { Risk } from '../../../agent/health/risk.ts';
import { DEFAULT_FAILURE_PROBABILITIES as P } from '../../../agent/health/thresholds.ts';

const memory = (risk: Risk): MemoryReport => ({
  status: risk === 'unknown' ? 'no-data' : 'ok',
  risk,
  reasons: [
    {
      code: risk === 'unknown' ? 'edac-absent' : 'x',
      level: risk === 'healthy' ? 'info' : risk,
      message: `memory ${risk}`,
    },
  ],
  controllers: [],
  dimms: [],
});
const disk = (risk: Risk, vms: string[] = []) => ({
  device: `/dev/${risk}`,
  label: `/dev/${risk}`,
  risk,
  firstReason: `${risk} because`,
  vms,
});

describe('host risk', () => {
  it('P = 1 − Π(1 − pᵢ) with pᵢ from each verdict', () => {
    assert.equal(diskFailureProbability([]), null);
    assert.ok(Math.abs((diskFailureProbability(['healthy']) ?? NaN) - P.healthy) < 1e-12);
    const p = diskFailureProbability(['healthy', 'warning', 'failing', 'unknown']) ?? NaN;
    assert.ok(
      Math.abs(p - (1 - (1 - P.healthy) * (1 - P.warning) * (1 - P.failing) * (1 - P.unknown))) <
        1e-12,
    );
    const twelve = diskFailureProbability(Array<Risk>(12).fill('healthy')) ?? NaN;
    assert.ok(Math.abs(twelve - 0.1719) < 0.001, `${twelve}`);
  });

  it('names the VMs on a failing disk', () => {
    const h = assessHost(memory('healthy'), [
      disk('healthy'),
      disk('failing', ['web-1:vda', 'db-1:vdb']),
    ]);
    assert.equal(h.risk, 'failing');
    assert.deepEqual(
      h.reasons.map((r) => r.code),
      ['disk-failing', 'disk-failure-probability'],
    );
    assert.match(
      h.reasons[0]?.message ?? '',
      /disk \/dev\/failing is failing \(failing because\); VMs at risk: web-1:vda, db-1:vdb/,
    );
  });

  it('takes the worst known verdict: memory can fail a host with healthy disks', () => {
    assert.equal(assessHost(memory('failing'), [disk('healthy')]).risk, 'failing');
    assert.equal(assessHost(memory('warning'), [disk('healthy')]).risk, 'warning');
    assert.equal(assessHost(memory('unknown'), [disk('healthy')]).risk, 'healthy');
  });

  it('is unknown only when nothing could be judged, and says what was not', () => {
    const h = assessHost(memory('unknown'), [disk('unknown')]);
    assert.equal(h.risk, 'unknown');
    assert.deepEqual(
      h.reasons.map((r) => r.code),
      ['disk-failure-probability', 'memory-unknown', 'disks-unknown'],
    );
    assert.equal(h.diskFailureProbability, P.unknown);
    const none = assessHost(memory('unknown'), []);
    assert.deepEqual(
      [none.risk, none.diskFailureProbability, none.reasons[0]?.code],
      ['unknown', null, 'no-disks'],
    );
  });

  it('uses configured probabilities', () => {
    const h = assessHost(memory('healthy'), [disk('warning')], { ...P, warning: 0.5 });
    assert.equal(h.diskFailureProbability, 0.5);
  });
});
