import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  buildHealthCommand,
  HealthCommandError,
  runHealthCommand,
  type HealthCommandOptions,
} from '../../../agent/health/command.ts';
import { HISTORY_FILE } from '../../../agent/health/history.ts';
import { parseJson } from '../../../agent/health/lossless-json.ts';
import { fakeSmartctl } from '../../helpers/fake-smartctl/fake-smartctl.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CAP = `${ROOT}test/fixtures/smartctl/`;
const SYS = `${ROOT}test/fixtures/sys/`;

type Json = Record<string, unknown>;

async function run(
  opts: HealthCommandOptions,
  extra: Partial<Parameters<typeof runHealthCommand>[1]> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runHealthCommand(opts, {
    listDomainXml: () => Promise.reject(new Error('connect ENOENT /run/libvirt/libvirt-sock')),
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    ...extra,
  });
  return { code, out, err };
}

const FILES = [
  ['ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8', 'failing'],
  ['nvme-samsung-970-evo-plus-healthy', 'healthy'],
  ['sata-ssd-micron-5300-attr188-nonzero', 'warning'],
  ['local-smartctl73-virtio-unable-to-detect-device-type', 'unknown'],
  ['megaraid-scan-json', 'unknown'],
] as const;

describe('virt-ft health --smartctl-json (offline)', () => {
  it('prints exactly { memory, disks, host } with the issue’s fields', async () => {
    const { code, out, err } = await run({
      smartctlJson: FILES.map(([f]) => `${CAP}${f}.json`),
      sysfsRoot: `${SYS}edac-skx-dimm-5539-ce`,
      json: true,
    });
    assert.deepEqual([code, err], [0, '']);
    const report = parseJson(out) as Json;
    assert.deepEqual(Object.keys(report), ['memory', 'disks', 'host']);
    const memory = report.memory as Json;
    for (const k of ['status', 'risk', 'reasons', 'controllers', 'dimms'])
      assert.ok(k in memory, k);
    const dimm = (memory.dimms as Json[]).find((d) => d.risk === 'warning') ?? {};
    for (const k of ['label', 'location', 'ce', 'ue', 'ceRate24h', 'risk', 'reasons'])
      assert.ok(k in dimm, k);
    assert.deepEqual(
      [dimm.label, dimm.location, dimm.ce, dimm.ue, dimm.ceRate24h],
      ['CPU_SrcID#1_Ha#0_Chan#0_DIMM#0', 'channel 0 slot 0', 5539, 0, 5539],
    );
    const disks = report.disks as Json[];
    for (const d of disks)
      for (const k of [
        'source',
        'device',
        'protocol',
        'model',
        'serial',
        'risk',
        'reasons',
        'attributes',
      ])
        assert.ok(k in d, k);
    assert.deepEqual(
      disks.map((d) => [d.source, d.risk]),
      FILES.map(([f, r]) => [`${CAP}${f}.json`, r]),
    );
    assert.equal((disks[0]?.attributes as Json).reallocatedSectors, 1975);
    const host = report.host as Json;
    assert.deepEqual(Object.keys(host), ['diskFailureProbability', 'risk', 'reasons']);
    assert.equal(host.risk, 'failing');
    const p = 1 - (1 - 0.632) * (1 - 0.0156) * (1 - 0.0952) * (1 - 0.0156) * (1 - 0.0156);
    assert.ok(Math.abs((host.diskFailureProbability as number) - p) < 1e-6);
    assert.equal(memory.risk, 'warning');
  });

  it('does not read this host’s memory unless --sysfs-root is given', async () => {
    const { out } = await run({
      smartctlJson: [`${CAP}sas-hitachi-h109060-healthy.json`],
      json: true,
    });
    const memory = (parseJson(out) as Json).memory as Json;
    assert.deepEqual(
      [memory.status, (memory.reasons as Json[])[0]?.code],
      ['no-data', 'memory-not-read'],
    );
    assert.equal(((parseJson(out) as Json).host as Json).risk, 'healthy');
  });

  it('prints a readable text form by default', async () => {
    const { code, out } = await run({
      smartctlJson: [`${CAP}nvme-samsung-mzwll3t2hajq-critical-warning-16-FAILED.json`],
    });
    assert.equal(code, 0);
    assert.match(out, /^Host: FAILING\n/);
    assert.match(out, /FAILING \/dev\/nvme0 \(SAMSUNG MZWLL3T2HAJQ-00005, serial REDACTED\)/);
    assert.match(out, /failing: NVMe critical_warning bit volatile_memory_backup_failed/);
  });

  it('reports garbage in a capture as an unknown disk, and a missing file as one error line', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vft-cmd-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'bad.json'), 'Segmentation fault');
    const bad = await run({ smartctlJson: [join(dir, 'bad.json')], json: true });
    const d = ((parseJson(bad.out) as Json).disks as Json[])[0] ?? {};
    assert.deepEqual(
      [bad.code, d.risk, (d.reasons as Json[])[0]?.code],
      [0, 'unknown', 'smartctl-bad-output'],
    );
    const missing = await run({ smartctlJson: [join(dir, 'nope.json')] });
    assert.deepEqual([missing.code, missing.out], [2, '']);
    assert.match(missing.err, /^virt-ft health: Cannot read .*nope\.json: ENOENT[^\n]*\n$/);
  });
});

describe('virt-ft health (live, on fixture trees and a fake smartctl)', () => {
  async function setup(t: TestContext) {
    const failing = await readFile(
      `${CAP}ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8.json`,
      'utf8',
    );
    const healthy = await readFile(`${CAP}ata-hdd-wdc-red-wd20efrx-healthy.json`, 'utf8');
    const scan = JSON.stringify({
      smartctl: { argv: ['smartctl', '--scan-open', '--json'], exit_status: 0 },
      devices: [
        { name: '/dev/sda', type: 'sat', protocol: 'ATA' },
        { name: '/dev/sdb', type: 'sat', protocol: 'ATA' },
      ],
    });
    const fake = await fakeSmartctl(t, {
      scan,
      devices: {
        '/dev/sda': { stdout: failing, exit: 216 },
        '/dev/sdb': { stdout: healthy },
        '/dev/nvme0n1': { stdout: healthy },
      },
    });
    return { config: { smartctlPath: fake.path }, fake };
  }
  const sys = `${SYS}diskmap-lvm-md/sysfs`;
  const proc = `${SYS}diskmap-lvm-md/proc`;
  const domains = [
    {
      name: 'web-1',
      uuid: 'u1',
      xml: "<domain><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/web-1.qcow2'/><target dev='vda'/></disk></devices></domain>",
    },
  ];

  it('names the VMs on the failing disk', async (t) => {
    const { config } = await setup(t);
    const { code, out } = await run(
      { sysfsRoot: sys, procRoot: proc, json: true },
      { config, listDomainXml: () => Promise.resolve(domains) },
    );
    assert.equal(code, 0);
    const report = parseJson(out) as Json;
    const disks = report.disks as Json[];
    assert.deepEqual(
      disks.map((d) => [
        d.device,
        d.risk,
        (d.vms as Json[]).map((v) => `${String(v.domain)}:${String(v.target)}`),
      ]),
      [
        ['/dev/sda', 'failing', ['web-1:vda']],
        ['/dev/sdb', 'healthy', ['web-1:vda']],
        ['/dev/nvme0n1', 'healthy', []],
      ],
    );
    const host = report.host as Json;
    assert.equal(host.risk, 'failing');
    assert.match(
      String((host.reasons as Json[])[0]?.message),
      /^disk \/dev\/sda \(Hitachi HDS721050DLE630, serial MSK423Y20S3HBC\) is failing .*; VMs at risk: web-1:vda$/,
    );
  });

  it('says on one line that libvirt is unavailable, and goes on', async (t) => {
    const { config } = await setup(t);
    const { code, out } = await run({ sysfsRoot: sys, procRoot: proc }, { config });
    assert.equal(code, 0);
    const lines = out.split('\n').filter((l) => l.includes('libvirt unavailable'));
    assert.deepEqual(lines, [
      '  - libvirt unavailable (connect ENOENT /run/libvirt/libvirt-sock): disks are listed without their VMs',
    ]);
    assert.match(out, /FAILING \/dev\/sda/);
  });

  it('keeps history in --state-dir (0600) and reads it back on the next run', async (t) => {
    const { config } = await setup(t);
    const dir = await mkdtemp(join(tmpdir(), 'vft-cmd-state-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await run({ sysfsRoot: `${SYS}edac-i10nm-dimm`, procRoot: proc, stateDir: dir }, { config });
    assert.equal((await stat(join(dir, HISTORY_FILE))).mode & 0o777, 0o600);
    type Series = { lastAt: number; samples: [number, number][] };
    const load = async (): Promise<Series | undefined> => {
      const saved = parseJson(await readFile(join(dir, HISTORY_FILE), 'utf8')) as {
        edac: { units: Record<string, { ce: Series }> };
      };
      return saved.edac.units['mc7/dimm0']?.ce;
    };
    const first = await load();
    assert.ok(first !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await run(
      { sysfsRoot: `${SYS}edac-i10nm-dimm`, procRoot: proc, stateDir: dir, json: true },
      { config },
    );
    assert.equal(again.code, 0);
    const second = await load();
    // Loaded, not started afresh: the first run's samples stay and only lastAt moves on.
    assert.deepEqual(second?.samples, first.samples);
    assert.ok((second?.lastAt ?? 0) > first.lastAt);
  });

  it('judges a sleeping disk on its last reading from an earlier run, and says so', async (t) => {
    const { config } = await setup(t);
    const dir = await mkdtemp(join(tmpdir(), 'vft-cmd-standby-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await run({ sysfsRoot: sys, procRoot: proc, stateDir: dir }, { config });
    const asleep = JSON.stringify({
      smartctl: {
        argv: ['smartctl', '--json', '--nocheck=standby', '--', '/dev/sda'],
        messages: [{ string: 'Device is in STANDBY mode, exit(2)', severity: 'information' }],
        exit_status: 2,
      },
      device: { name: '/dev/sda', info_name: '/dev/sda [SAT]', type: 'sat', protocol: 'ATA' },
    });
    const sleeping = await fakeSmartctl(t, {
      scan: JSON.stringify({
        smartctl: { argv: ['smartctl', '--scan-open'], exit_status: 0 },
        devices: [{ name: '/dev/sda', type: 'sat', protocol: 'ATA' }],
      }),
      devices: { '/dev/sda': { stdout: asleep, exit: 2 } },
      fallback: {
        stdout: '{"smartctl":{"exit_status":1,"messages":[{"string":"none","severity":"error"}]}}',
        exit: 1,
      },
    });
    const { out } = await run(
      { sysfsRoot: sys, procRoot: proc, stateDir: dir, json: true },
      { config: { smartctlPath: sleeping.path } },
    );
    const sda =
      ((parseJson(out) as Json).disks as Json[]).find((d) => d.device === '/dev/sda') ?? {};
    const reasons = sda.reasons as Json[];
    assert.deepEqual([sda.state, sda.risk, reasons[0]?.code], ['standby', 'failing', 'standby']);
    assert.match(
      String(reasons[0]?.message),
      /not woken \(--nocheck=standby\); verdict from the reading of \d{4}-/,
    );
    assert.ok(reasons.some((r) => r.code === 'smart-status-failed'));
    assert.equal(
      (await sleeping.calls()).filter((l) => l.includes('/dev/sda')).length,
      1,
      'asked once, not woken',
    );
  });

  it('builds a commander subcommand with the documented options', () => {
    const cmd = buildHealthCommand({ listDomainXml: () => Promise.resolve([]) });
    assert.equal(cmd.name(), 'health');
    assert.deepEqual(
      cmd.options.map((o) => o.long),
      ['--sysfs-root', '--proc-root', '--smartctl-json', '--state-dir', '--json'],
    );
  });

  it('as a subcommand, throws one line with its exit code for the CLI to print', async () => {
    let out = '';
    const cmd = buildHealthCommand({
      listDomainXml: () => Promise.resolve([]),
      stdout: { write: (s: string) => (out += s) },
    });
    cmd.exitOverride();
    await assert.rejects(
      cmd.parseAsync(['--smartctl-json', '/nonexistent/capture.json'], { from: 'user' }),
      (e: unknown) =>
        e instanceof HealthCommandError &&
        e.exitCode === 2 &&
        e.code === 'VFT_ERR_USAGE' &&
        /^Cannot read \/nonexistent\/capture\.json: ENOENT[^\n]*$/.test(e.message),
    );
    await cmd.parseAsync(['--smartctl-json', `${CAP}sas-hitachi-h109060-healthy.json`, '--json'], {
      from: 'user',
    });
    assert.equal(((parseJson(out) as Json).host as Json).risk, 'healthy');
  });
});
