import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { assessDisk } from '../../../agent/health/disk-risk.ts';
import { silentLogger } from '../../../agent/health/reader.ts';
import { SmartReader } from '../../../agent/health/smart.ts';
import { fakeSmartctl } from '../../helpers/fake-smartctl/fake-smartctl.ts';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/smartctl/', import.meta.url));
const capture = (name: string): Promise<string> => readFile(`${DIR}${name}.json`, 'utf8');

/** A sysfs tree with the given whole disks (`virtual` ones under devices/virtual). */
async function sysTree(t: TestContext, disks: [string, string, boolean][]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vft-sys-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'class', 'block'), { recursive: true });
  for (const [name, dev, virtual] of disks) {
    const real = join(
      root,
      'devices',
      virtual ? 'virtual' : 'pci0000:00/0000:00:02.0',
      'block',
      name,
    );
    await mkdir(real, { recursive: true });
    await writeFile(join(real, 'dev'), `${dev}\n`);
    await symlink(real, join(root, 'class', 'block', name));
  }
  return root;
}

describe('SMART reader', () => {
  it('reads every scanned device (MegaRAID by type) and the disks the scan missed', async (t) => {
    const fake = await fakeSmartctl(t, {
      scan: await capture('scan-megaraid-scrutiny'),
      devices: {
        '/dev/bus/0': { stdout: await capture('sas-hitachi-h109060-healthy') },
        '/dev/vda': {
          stdout: await capture('local-smartctl73-virtio-unable-to-detect-device-type'),
          exit: 1,
        },
      },
    });
    const sysRoot = await sysTree(t, [
      ['vda', '254:0', false],
      ['loop0', '7:0', true],
    ]);
    const reader = new SmartReader(
      { smartctlPath: fake.path, timeoutMs: 5000, concurrency: 2, minIntervalMs: 0, sysRoot },
      silentLogger,
    );
    const result = await reader.read();
    assert.equal(result.status, 'ok');
    assert.deepEqual(
      result.discovery.scanned.map((d) => d.type),
      ['megaraid,0', 'megaraid,1'],
    );
    assert.deepEqual(result.discovery.fromSysfs, ['vda']);
    assert.deepEqual(
      result.readings.map((r) => [r.source, r.state, assessDisk(r).risk]),
      [
        ['/dev/bus/0 [megaraid,0]', 'ok', 'healthy'],
        ['/dev/bus/0 [megaraid,1]', 'ok', 'healthy'],
        ['/dev/vda', 'error', 'unknown'],
      ],
    );
    const calls = (await fake.calls())
      .filter((l) => l.startsWith('start'))
      .map((l) => l.split(' ').slice(3).join(' '));
    // Two run at once, so the order of the device reads is not fixed; the scan comes first.
    assert.equal(calls[0], '--scan-open --json');
    assert.deepEqual(
      calls.slice(1).sort(),
      [
        '--json --info --health --attributes --log=error --nocheck=standby --device=megaraid,0 -- /dev/bus/0',
        '--json --info --health --attributes --log=error --nocheck=standby --device=megaraid,1 -- /dev/bus/0',
        '--json --info --health --attributes --log=error --nocheck=standby -- /dev/vda',
      ].sort(),
    );
  });

  it('says "no-data" when there is nothing to ask', async (t) => {
    const fake = await fakeSmartctl(t, { scan: await capture('local-smartctl73-scan-no-devices') });
    const sysRoot = await sysTree(t, [['loop0', '7:0', true]]);
    const result = await new SmartReader(
      { smartctlPath: fake.path, timeoutMs: 5000, concurrency: 2, minIntervalMs: 0, sysRoot },
      silentLogger,
    ).read();
    assert.equal(result.status, 'no-data');
    assert.match(result.message ?? '', /found no device/);
  });

  it('says "error" with one clear line when smartctl is missing', async (t) => {
    const sysRoot = await sysTree(t, [['sda', '8:0', false]]);
    const result = await new SmartReader(
      {
        smartctlPath: '/nonexistent/smartctl',
        timeoutMs: 5000,
        concurrency: 2,
        minIntervalMs: 0,
        sysRoot,
      },
      silentLogger,
    ).read();
    assert.equal(result.status, 'error');
    assert.equal(
      result.message,
      'Cannot run /nonexistent/smartctl: not found (install smartmontools)',
    );
  });

  it('still reads the disks when the scan prints garbage, and says the scan failed', async (t) => {
    const fake = await fakeSmartctl(t, {
      scan: 'garbage',
      devices: { '/dev/sda': { stdout: await capture('ata-hdd-wdc-red-wd20efrx-healthy') } },
    });
    const sysRoot = await sysTree(t, [['sda', '8:0', false]]);
    const result = await new SmartReader(
      { smartctlPath: fake.path, timeoutMs: 5000, concurrency: 2, minIntervalMs: 0, sysRoot },
      silentLogger,
    ).read();
    assert.equal(result.status, 'ok');
    assert.match(result.message ?? '', /^smartctl --scan-open failed: Invalid JSON/);
    assert.deepEqual(
      result.readings.map((r) => assessDisk(r).risk),
      ['healthy'],
    );
  });

  it('logs a hung or garbled smartctl under its stable error code', async (t) => {
    const fake = await fakeSmartctl(t, { devices: { '/dev/sda': { stdout: 'garbage' } } });
    const sysRoot = await sysTree(t, [['sda', '8:0', false]]);
    const warnings: Record<string, unknown>[] = [];
    const log = { ...silentLogger, warn: (o: Record<string, unknown>) => void warnings.push(o) };
    const reader = new SmartReader(
      { smartctlPath: fake.path, timeoutMs: 5000, concurrency: 2, minIntervalMs: 0, sysRoot },
      log,
    );
    const result = await reader.read();
    assert.equal(result.readings[0]?.failure?.code, 'bad-output');
    assert.deepEqual(
      warnings.map((w) => [w.code, w.device]),
      [['VFT_ERR_HEALTH_SMARTCTL_OUTPUT', '/dev/sda']],
    );
  });
});
