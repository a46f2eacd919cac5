import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { assessDisk } from '../../../agent/health/disk-risk.ts';
import { silentLogger } from '../../../agent/health/reader.ts';
import { readingFromRun } from '../../../agent/health/smart.ts';
import { Smartctl, type SmartctlConfig } from '../../../agent/health/smartctl.ts';
import { AgentError } from '../../../shared/errors.ts';
import {
  defunctChildren,
  fakeSmartctl,
  processExists,
} from '../../helpers/fake-smartctl/fake-smartctl.ts';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/smartctl/', import.meta.url));
const HEALTHY = readFileSync(`${DIR}ata-hdd-wdc-red-wd20efrx-healthy.json`, 'utf8');

function config(path: string, over: Partial<SmartctlConfig> = {}): SmartctlConfig {
  return { smartctlPath: path, timeoutMs: 10_000, concurrency: 2, minIntervalMs: 0, ...over };
}

const codes = (
  stdout: string,
  exit: number | null,
  extra: Partial<Parameters<typeof readingFromRun>[0]> = {},
): string[] =>
  assessDisk(
    readingFromRun(
      {
        argv: [],
        exitCode: exit,
        signal: null,
        stdout,
        stderr: '',
        timedOut: false,
        overflow: false,
        durationMs: 1,
        at: 0,
        cached: false,
        ...extra,
      },
      { name: '/dev/sda', type: 'sat' },
    ),
  ).reasons.map((r) => `${r.code}:${r.level}`);

describe('smartctl runner', () => {
  it('runs smartctl with an argument vector, --nocheck=standby and -- before the device', async (t) => {
    const fake = await fakeSmartctl(t, { devices: { '/dev/bus/6': { stdout: HEALTHY } } });
    const run = await new Smartctl(config(fake.path), silentLogger).read({
      name: '/dev/bus/6',
      type: 'megaraid,8',
    });
    assert.equal(run.exitCode, 0);
    assert.deepEqual(run.argv.slice(1), [
      '--json',
      '--info',
      '--health',
      '--attributes',
      '--log=error',
      '--nocheck=standby',
      '--device=megaraid,8',
      '--',
      '/dev/bus/6',
    ]);
    const [start] = await fake.calls();
    assert.match(start ?? '', /--nocheck=standby --device=megaraid,8 -- \/dev\/bus\/6$/);
  });

  it('passes a device name that looks like an option or a shell word as data', async (t) => {
    const fake = await fakeSmartctl(t, { devices: { '-x; rm -rf /': { stdout: HEALTHY } } });
    const run = await new Smartctl(config(fake.path), silentLogger).read({ name: '-x; rm -rf /' });
    assert.equal(run.exitCode, 0);
    assert.deepEqual(run.argv.slice(-2), ['--', '-x; rm -rf /']);
  });

  it(
    'kills a hung smartctl at the timeout, reports it, and leaves no zombie',
    { timeout: 10_000 },
    async (t) => {
      const fake = await fakeSmartctl(t, { devices: { '/dev/sdh': { hang: true } } });
      const started = Date.now();
      const run = await new Smartctl(config(fake.path, { timeoutMs: 400 }), silentLogger).read({
        name: '/dev/sdh',
      });
      const took = Date.now() - started;
      assert.ok(took >= 400 && took < 3000, `took ${took} ms`);
      assert.deepEqual([run.timedOut, run.exitCode, run.signal], [true, null, 'SIGKILL']);
      const pid = await fake.pidOf('/dev/sdh', 'pid');
      assert.equal(await processExists(pid), false, 'the killed smartctl was reaped');
      assert.deepEqual(await defunctChildren(), []);
      const reasons = assessDisk(readingFromRun(run, { name: '/dev/sdh' })).reasons;
      assert.deepEqual(
        reasons.map((r) => r.code),
        ['smartctl-timeout'],
      );
      assert.match(
        reasons[0]?.message ?? '',
        /^smartctl \/dev\/sdh did not finish in 0\.\d s and was killed \(SIGKILL\)$/,
      );
    },
  );

  it(
    'ends on time even when a child of smartctl keeps its stdout open',
    { timeout: 10_000 },
    async (t) => {
      const fake = await fakeSmartctl(t, { devices: { '/dev/sdg': { hangWithChild: true } } });
      const started = Date.now();
      const run = await new Smartctl(config(fake.path, { timeoutMs: 400 }), silentLogger).read({
        name: '/dev/sdg',
      });
      const gpid = await fake.pidOf('/dev/sdg', 'gpid');
      t.after(() => {
        try {
          process.kill(gpid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
      assert.ok(Date.now() - started < 3000);
      assert.equal(run.timedOut, true);
      assert.deepEqual(await defunctChildren(), []);
    },
  );

  it('reports garbage output and a crash as such', async (t) => {
    const fake = await fakeSmartctl(t, {
      devices: {
        '/dev/sdx': { stdout: '\u0000\u0001 binary garbage {' },
        '/dev/sdy': { crash: true },
      },
    });
    const smartctl = new Smartctl(config(fake.path), silentLogger);
    const garbage = assessDisk(
      readingFromRun(await smartctl.read({ name: '/dev/sdx' }), { name: '/dev/sdx' }),
    );
    assert.deepEqual(
      [garbage.risk, garbage.reasons.map((r) => r.code)],
      ['unknown', ['smartctl-bad-output']],
    );
    assert.match(garbage.reasons[0]?.message ?? '', /printed output that is not JSON/);
    const crash = await smartctl.read({ name: '/dev/sdy' });
    assert.equal(crash.signal, 'SIGSEGV');
    const crashed = assessDisk(readingFromRun(crash, { name: '/dev/sdy' }));
    assert.deepEqual(
      crashed.reasons.map((r) => [r.code, r.message]),
      [['smartctl-killed', 'smartctl /dev/sdy was killed by SIGSEGV']],
    );
    assert.deepEqual(await defunctChildren(), []);
  });

  it('rejects with a clear error when smartctl is not installed', async () => {
    const smartctl = new Smartctl(config('/nonexistent/smartctl'), silentLogger);
    await assert.rejects(
      smartctl.read({ name: '/dev/sda' }),
      (e: unknown) =>
        e instanceof AgentError &&
        e.code === 'VFT_ERR_HEALTH_SMARTCTL' &&
        /not found \(install smartmontools\)/.test(e.message),
    );
  });

  it('stops a run when its signal aborts, and reaps it', { timeout: 10_000 }, async (t) => {
    const fake = await fakeSmartctl(t, { devices: { '/dev/sdh': { hang: true } } });
    const ac = new AbortController();
    const p = new Smartctl(config(fake.path), silentLogger).read({ name: '/dev/sdh' }, ac.signal);
    setTimeout(() => {
      ac.abort(new Error('agent closing'));
    }, 200);
    await assert.rejects(p, /agent closing/);
    assert.equal(await processExists(await fake.pidOf('/dev/sdh', 'pid')), false);
    assert.deepEqual(await defunctChildren(), []);
  });

  it('runs at most two at a time', async (t) => {
    const slow = { stdout: HEALTHY, sleepS: 0.3 };
    const devices = Object.fromEntries(
      ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde'].map((d) => [d, slow]),
    );
    const fake = await fakeSmartctl(t, { devices });
    const smartctl = new Smartctl(config(fake.path), silentLogger);
    await Promise.all(Object.keys(devices).map((name) => smartctl.read({ name })));
    let running = 0;
    let peak = 0;
    const events = (await fake.calls())
      .map((l) => l.split(' '))
      .map(([kind, , ns]) => [kind, BigInt(ns ?? '0')] as const);
    for (const [kind] of [...events].sort((a, b) =>
      a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] === 'end' ? -1 : 1,
    )) {
      running += kind === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    assert.equal(peak, 2);
    assert.equal(events.length, 10);
  });

  it('does not ask a device again within the minimum interval', async (t) => {
    const fake = await fakeSmartctl(t, { devices: { '/dev/sda': { stdout: HEALTHY } } });
    let now = 1_000_000;
    const smartctl = new Smartctl(
      config(fake.path, { minIntervalMs: 60_000 }),
      silentLogger,
      () => now,
    );
    const first = await smartctl.read({ name: '/dev/sda' });
    now += 30_000;
    const second = await smartctl.read({ name: '/dev/sda' });
    now += 31_000;
    const third = await smartctl.read({ name: '/dev/sda' });
    assert.deepEqual([first.cached, second.cached, third.cached], [false, true, false]);
    assert.equal((await fake.calls()).filter((l) => l.startsWith('start')).length, 2);
  });
});

describe('each exit-status bit is reported', () => {
  const minimal = (exit: number, severity: string): string =>
    JSON.stringify({
      smartctl: { exit_status: exit, messages: [{ string: `fake failure ${exit}`, severity }] },
      device: { name: '/dev/sda', type: 'sat', protocol: 'ATA' },
    });
  const expected: [number, string, string[]][] = [
    [0, minimal(1, 'error'), ['smartctl-error:unknown']],
    [1, minimal(2, 'error'), ['smartctl-error:unknown']],
    [2, HEALTHY, ['no-findings:info', 'exit-smart-command-failed:info']],
    [3, HEALTHY, ['exit-disk-failing:failing']],
    [4, HEALTHY, ['exit-prefail-threshold:failing']],
    [5, HEALTHY, ['exit-threshold-in-past:warning']],
    [6, HEALTHY, ['no-findings:info', 'exit-error-log:info']],
    [7, HEALTHY, ['exit-self-test-errors:warning']],
  ];
  for (const [bit, stdout, want] of expected) {
    it(`bit ${bit} (exit ${1 << bit}) → ${want.join(', ')}`, async (t) => {
      const fake = await fakeSmartctl(t, { devices: { '/dev/sda': { stdout, exit: 1 << bit } } });
      const run = await new Smartctl(config(fake.path), silentLogger).read({
        name: '/dev/sda',
        type: 'sat',
      });
      assert.equal(run.exitCode, 1 << bit);
      const reading = readingFromRun(run, { name: '/dev/sda', type: 'sat' });
      assert.equal(reading.exit.status, 1 << bit);
      assert.equal(reading.exit.bits.length, 1);
      assert.deepEqual(
        assessDisk(reading).reasons.map((r) => `${r.code}:${r.level}`),
        want,
      );
    });
  }

  it('names every bit of a composite status', () => {
    assert.deepEqual(codes(HEALTHY, 0xfc), [
      'exit-disk-failing:failing',
      'exit-prefail-threshold:failing',
      'exit-threshold-in-past:warning',
      'exit-self-test-errors:warning',
      'exit-error-log:info',
      'exit-smart-command-failed:info',
    ]);
  });
});
