import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EdacReader, type EdacReading } from '../../../agent/health/edac.ts';
import { HealthHistory } from '../../../agent/health/history.ts';
import { assessMemory, type MemoryReport } from '../../../agent/health/memory.ts';
import { silentLogger } from '../../../agent/health/reader.ts';

const SYS = fileURLToPath(new URL('../../../../test/fixtures/sys/', import.meta.url));

async function judge(root: string): Promise<{ reading: EdacReading; memory: MemoryReport }> {
  const reading = await new EdacReader({ sysfsRoot: root }, silentLogger).read();
  const history = await HealthHistory.load({ stateDir: null });
  const obs = reading.status === 'ok' ? history.observeEdac(reading.controllers, reading.at) : null;
  return { reading, memory: assessMemory(reading, obs) };
}

const codes = (m: { reasons: readonly { code: string }[] }): string[] =>
  m.reasons.map((r) => r.code);

describe('EDAC fixture trees', () => {
  it('no edac directory: no-data "edac-absent", unknown — not zero errors', async () => {
    const { memory } = await judge(`${SYS}edac-absent`);
    assert.deepEqual(
      [memory.status, memory.risk, codes(memory)],
      ['no-data', 'unknown', ['edac-absent']],
    );
    assert.match(
      memory.reasons[0]?.message ?? '',
      /^no EDAC: .*devices\/system\/edac\/mc does not exist/,
    );
  });

  it('ECC off (empty mc/): no-data "edac-no-controllers", unknown', async () => {
    const { memory } = await judge(`${SYS}edac-no-ecc-empty-mc`);
    assert.deepEqual(
      [memory.status, memory.risk, codes(memory)],
      ['no-data', 'unknown', ['edac-no-controllers']],
    );
    assert.match(memory.reasons[0]?.message ?? '', /ECC disabled in the BIOS/);
  });

  it('csrow-only real capture with zero errors: healthy, "no-memory-errors"', async () => {
    const { memory } = await judge(`${SYS}edac-csrow-real-zero`);
    assert.deepEqual(
      [memory.status, memory.risk, codes(memory)],
      ['ok', 'healthy', ['no-memory-errors']],
    );
    assert.deepEqual(
      memory.dimms.map((d) => [d.key, d.kind, d.ce, d.ue]),
      [
        ['mc0/csrow0', 'csrow', 0, 0],
        ['mc0/csrow1', 'csrow', 0, 0],
        ['mc0/csrow2', 'csrow', 0, 0],
        ['mc0/csrow3', 'csrow', 0, 0],
      ],
    );
    assert.equal(memory.controllers[0]?.layout, 'csrow');
  });

  it('csrow with channels and UEs (node_exporter fixture): failing, per channel', async () => {
    const { memory } = await judge(`${SYS}edac-csrow-node-exporter`);
    assert.equal(memory.risk, 'failing');
    assert.deepEqual(codes(memory), [
      'uncorrected-errors',
      'controller-ue-noinfo',
      'uncorrected-errors',
      'uncorrected-errors',
      'uncorrected-errors',
      'uncorrected-errors',
    ]);
    assert.deepEqual(
      memory.dimms.map((d) => [d.label, d.location, d.ue, d.risk]),
      [
        ['mc0csrow0channel0', 'csrow 0 channel 0', 2, 'failing'],
        ['mc0csrow0channel1', 'csrow 0 channel 1', 2, 'failing'],
        ['mc0csrow1channel0', 'csrow 1 channel 0', 2, 'failing'],
        ['mc0csrow1channel1', 'csrow 1 channel 1', 2, 'failing'],
        ['mc0csrow2channel0', 'csrow 2 channel 0', null, 'healthy'],
        ['mc0csrow2channel1', 'csrow 2 channel 1', null, 'healthy'],
      ],
    );
    assert.deepEqual(codes(memory.dimms[4]!), ['dimm-ue-not-reported']);
    assert.equal(memory.controllers[0]?.risk, 'failing');
  });

  it('Intel i10nm dimm-only layout: per-DIMM counts and labels, 4 CEs is healthy', async () => {
    const { memory } = await judge(`${SYS}edac-i10nm-dimm`);
    assert.deepEqual([memory.risk, codes(memory)], ['healthy', ['memory-errors-below-threshold']]);
    const d = memory.dimms[0]!;
    assert.deepEqual(
      [d.key, d.kind, d.label, d.location, d.ce, d.ue, d.ceRate24h, d.risk],
      [
        'mc7/dimm0',
        'dimm',
        'CPU_SrcID#1_MC#3_Chan#0_DIMM#0',
        'channel 0 slot 0',
        4,
        0,
        4,
        'healthy',
      ],
    );
    assert.deepEqual(codes(d), ['ce-below-threshold']);
    assert.equal(d.ratesExact, false, 'reset 2 days ago, no history: 4 is an upper bound for 24 h');
    assert.equal(memory.controllers[0]?.mcName, 'Intel_10nm Socket#1 IMC#3');
  });

  it('5539 CEs on one DIMM within an hour of the reset: that DIMM warns, nothing fails', async () => {
    const { memory } = await judge(`${SYS}edac-skx-dimm-5539-ce`);
    assert.deepEqual([memory.risk, codes(memory)], ['warning', ['ce-rate']]);
    const bad = memory.dimms.filter((d) => d.risk !== 'healthy');
    assert.deepEqual(
      bad.map((d) => [d.label, d.ceRate24h, d.ratesExact, d.risk]),
      [['CPU_SrcID#1_Ha#0_Chan#0_DIMM#0', 5539, true, 'warning']],
    );
    assert.equal(memory.dimms.length, 8);
    assert.match(memory.reasons[0]?.message ?? '', /5539 corrected errors in 24 h >= 50/);
  });

  it('AMD csrow + rank: ranks only, 3 CEs counted once (never 6)', async () => {
    const { memory } = await judge(`${SYS}edac-amd-csrow-rank`);
    assert.deepEqual([memory.risk, codes(memory)], ['healthy', ['memory-errors-below-threshold']]);
    assert.equal(memory.controllers[0]?.layout, 'rank');
    assert.ok(memory.dimms.every((d) => d.kind === 'rank'));
    assert.equal(
      memory.dimms.reduce((n, d) => n + (d.ce ?? 0), 0),
      3,
    );
    assert.match(
      memory.controllers[0]?.notes[0] ?? '',
      /2 csrow\* directories ignored: they count the same memory as rank\*/,
    );
    assert.match(memory.reasons[0]?.message ?? '', /3 corrected and 0 uncorrected/);
  });

  it('HPE csrow without ch0_ue_count: read, not an error, UE from the csrow', async () => {
    const { reading, memory } = await judge(`${SYS}edac-hpe-no-ch0-ue`);
    assert.equal(reading.status, 'ok');
    assert.deepEqual([memory.risk, codes(memory)], ['healthy', ['memory-errors-below-threshold']]);
    assert.deepEqual(
      memory.dimms.map((d) => [d.label, d.ce, d.ue]),
      [['PROC 1 DIMM 12', 2, 0]],
    );
    assert.match(
      memory.controllers[0]?.notes[0] ?? '',
      /csrow0\/ch0_ue_count missing: using csrow0\/ue_count/,
    );
  });

  it('rank layout with sparse numbering: finds the CE edac-util missed', async () => {
    const { memory } = await judge(`${SYS}edac-rank-ubuntu`);
    assert.deepEqual([memory.risk, memory.dimms.length], ['healthy', 16]);
    assert.deepEqual(
      memory.dimms.filter((d) => (d.ce ?? 0) > 0).map((d) => d.key),
      ['mc0/rank4'],
    );
  });

  it('an unreadable counter is an error reading, not a crash and not "healthy"', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'vft-edac-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    await cp(`${SYS}edac-i10nm-dimm`, root, { recursive: true });
    await rm(join(root, 'devices/system/edac/mc/mc7/ce_count'));
    await mkdir(join(root, 'devices/system/edac/mc/mc7/ce_count'));
    const { reading, memory } = await judge(root);
    assert.equal(reading.status, 'error');
    assert.deepEqual([memory.risk, codes(memory)], ['unknown', ['edac-read-error']]);
    assert.match(memory.reasons[0]?.message ?? '', /Cannot read .*mc7\/ce_count/);
  });
});
