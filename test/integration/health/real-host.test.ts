/**
 * On this machine, for real: smartctl against the virtio disk, `virt-ft health` with no option,
 * and the VM-disk map through the real /proc and /sys. Each test skips, saying why, on a host
 * that is not the kind it was written for (real EDAC, no virtio disk, no smartctl).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';

import { runHealthCommand } from '../../../agent/health/command.ts';
import { mapVmDisks, realpathOfExisting } from '../../../agent/health/disk-map.ts';
import { assessDisk } from '../../../agent/health/disk-risk.ts';
import { parseJson } from '../../../agent/health/lossless-json.ts';
import { silentLogger } from '../../../agent/health/reader.ts';
import { readingFromRun } from '../../../agent/health/smart.ts';
import { Smartctl } from '../../../agent/health/smartctl.ts';

const SMARTCTL = '/usr/sbin/smartctl';
const hasSmartctl = existsSync(SMARTCTL);
const hasVda = existsSync('/sys/block/vda');
const hasEdac = existsSync('/sys/devices/system/edac/mc');

async function health(json: boolean): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runHealthCommand(json ? { json: true } : {}, {
    listDomainXml: () => Promise.reject(new Error('connect ENOENT /run/libvirt/libvirt-sock')),
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe('this host', () => {
  it(
    'real smartctl on the virtio disk: unknown, with smartctl’s own message',
    {
      skip:
        !hasSmartctl || !hasVda
          ? 'needs smartctl (apt-get install smartmontools) and /dev/vda'
          : false,
      timeout: 60_000,
    },
    async () => {
      const smartctl = new Smartctl(
        { smartctlPath: SMARTCTL, timeoutMs: 30_000, concurrency: 2, minIntervalMs: 0 },
        silentLogger,
      );
      const run = await smartctl.read({ name: '/dev/vda' });
      assert.deepEqual(run.argv, [
        SMARTCTL,
        '--json',
        '--info',
        '--health',
        '--attributes',
        '--log=error',
        '--nocheck=standby',
        '--',
        '/dev/vda',
      ]);
      const reading = readingFromRun(run, { name: '/dev/vda' });
      const said = reading.messages.filter((m) => m.severity === 'error').map((m) => m.text);
      assert.deepEqual(
        said,
        ['/dev/vda: Unable to detect device type'],
        'smartctl 7.3 says this for virtio-blk',
      );
      const verdict = assessDisk(reading);
      assert.equal(verdict.risk, 'unknown');
      assert.deepEqual(
        verdict.reasons.map((r) => [r.code, r.message]),
        [['smartctl-error', `smartctl: ${said[0] ?? ''}`]],
      );
      assert.deepEqual(reading.exit.bits, ['COMMAND_LINE']);
    },
  );

  it(
    '`virt-ft health` with no option: says "no EDAC" and no SMART-capable disk, exit 0',
    {
      skip: hasEdac ? 'this host has EDAC' : !hasSmartctl ? 'needs smartctl' : false,
      timeout: 120_000,
    },
    async () => {
      const text = await health(false);
      assert.deepEqual([text.code, text.err], [0, '']);
      assert.match(text.out, /^Host: UNKNOWN \(nothing could be judged\)\n/);
      assert.match(
        text.out,
        /Memory \(EDAC\): UNKNOWN\n {2}- no EDAC: \/sys\/devices\/system\/edac\/mc does not exist/,
      );
      assert.match(text.out, /no SMART-capable disk/);
      assert.match(text.out, /libvirt unavailable \(connect ENOENT/);
      const json = await health(true);
      assert.equal(json.code, 0);
      const report = parseJson(json.out) as {
        memory: { status: string; reasons: { code: string }[] };
        disks: { risk: string }[];
        host: { risk: string; reasons: { code: string }[] };
      };
      assert.deepEqual(
        [report.memory.status, report.memory.reasons[0]?.code],
        ['no-data', 'edac-absent'],
      );
      assert.ok(report.disks.every((d) => d.risk === 'unknown'));
      assert.equal(report.host.risk, 'unknown');
      assert.ok(report.host.reasons.some((r) => r.code === 'no-smart-capable-disk'));
    },
  );

  it(
    'maps a VM image under /var/lib/libvirt/images to the disk holding it',
    { skip: !hasVda ? 'written for a host whose root is on /dev/vda' : false },
    async () => {
      const xml =
        "<domain type='kvm'><name>probe</name><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/probe.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>";
      const map = await mapVmDisks({
        domains: [{ name: 'probe', uuid: 'u', xml }],
        procRoot: '/proc',
        sysRoot: '/sys',
        realpath: realpathOfExisting,
      });
      assert.deepEqual([...map.byDisk.keys()], ['vda']);
      assert.deepEqual(map.unresolved, []);
    },
  );
});
