import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { EdacController } from '../../../agent/health/edac-parse.ts';
import { HealthHistory, HISTORY_FILE } from '../../../agent/health/history.ts';
import { parseSmartReading, readingFromText } from '../../../agent/health/smart-parse.ts';
import { parseJson } from '../../../agent/health/lossless-json.ts';
import { AgentError } from '../../../shared/errors.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const DIR = fileURLToPath(new URL('../../../../test/fixtures/smartctl/', import.meta.url));

async function stateDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vft-hist-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function mc(ce: number, ue: number, ssr: number | null, dimmCe = ce): EdacController {
  return {
    name: 'mc0',
    mcName: null,
    sizeMb: null,
    secondsSinceReset: ssr,
    ce,
    ue,
    ceNoinfo: 0,
    ueNoinfo: 0,
    layout: 'dimm',
    notes: [],
    units: [
      {
        key: 'mc0/dimm0',
        kind: 'dimm',
        label: 'A1',
        location: null,
        sizeMb: null,
        memType: null,
        ce: dimmCe,
        ue,
      },
    ],
  };
}

describe('health history', () => {
  it('keeps rates across an agent restart (file in the state dir, mode 0600)', async (t) => {
    const dir = await stateDir(t);
    const h1 = await HealthHistory.load({ stateDir: dir });
    h1.observeEdac([mc(10, 0, 100 * 86400)], T0);
    await h1.save(T0);
    assert.equal((await stat(join(dir, HISTORY_FILE))).mode & 0o777, 0o600);

    const h2 = await HealthHistory.load({ stateDir: dir });
    assert.equal(h2.loadProblem, null);
    h2.observeEdac([mc(10, 0, 100 * 86400 + 12 * 3600)], T0 + 12 * H);
    const obs = h2.observeEdac([mc(70, 0, 100 * 86400 + 25 * 3600)], T0 + 25 * H);
    const rates = obs.rates.get('mc0/dimm0');
    assert.deepEqual(
      [rates?.ce, rates?.ceRate24h, rates?.ceRate1h, rates?.exact24h],
      [70, 60, 60, true],
    );
  });

  it('keeps earlier counts when the host rebooted while the agent was down', async (t) => {
    const dir = await stateDir(t);
    const h1 = await HealthHistory.load({ stateDir: dir });
    h1.observeEdac([mc(40, 1, 5000)], T0);
    await h1.save();
    const h2 = await HealthHistory.load({ stateDir: dir });
    const obs = h2.observeEdac([mc(2, 0, 600)], T0 + 2 * H);
    assert.deepEqual(obs.resets, ['mc0']);
    assert.deepEqual([obs.rates.get('mc0/dimm0')?.ce, obs.rates.get('mc0/dimm0')?.ue], [42, 1]);
    assert.equal(
      obs.rates.get('mc0/dimm0')?.ueRate24h,
      1,
      'the UE before the reboot is still within 24 h',
    );
  });

  it('replaces a damaged file and says why', async (t) => {
    const dir = await stateDir(t);
    await writeFile(join(dir, HISTORY_FILE), '{"version": 99}');
    const h = await HealthHistory.load({ stateDir: dir });
    assert.match(h.loadProblem ?? '', /unexpected shape; starting a new history/);
    await writeFile(join(dir, HISTORY_FILE), 'garbage');
    assert.match((await HealthHistory.load({ stateDir: dir })).loadProblem ?? '', /not valid JSON/);
  });

  it('refuses a symlinked history file', async (t) => {
    const dir = await stateDir(t);
    await writeFile(join(dir, 'elsewhere'), '{}');
    await symlink(join(dir, 'elsewhere'), join(dir, HISTORY_FILE));
    await assert.rejects(
      HealthHistory.load({ stateDir: dir }),
      (e: unknown) => e instanceof AgentError && e.code === 'VFT_ERR_STATE_IO',
    );
  });

  it('stays within its unit, disk and byte bounds', async (t) => {
    const dir = await stateDir(t);
    const h = await HealthHistory.load({ stateDir: dir, maxUnits: 8, maxDisks: 2, maxBytes: 6000 });
    const units = Array.from({ length: 20 }, (_, i) => ({
      key: `mc0/dimm${i}`,
      kind: 'dimm' as const,
      label: null,
      location: null,
      sizeMb: null,
      memType: null,
      ce: 0,
      ue: 0,
    }));
    for (let m = 0; m < 200; m++) {
      h.observeEdac(
        [{ ...mc(m, 0, m * 600), units: units.map((u) => ({ ...u, ce: m * (u.key.length % 3) })) }],
        T0 + m * 600_000,
      );
    }
    const snap = h.snapshot();
    assert.ok(Object.keys(snap.edac.units).length <= 8);
    const r = readingFromText(
      await readFile(`${DIR}sas-hitachi-h109060-healthy.json`, 'utf8'),
      'a',
    );
    for (let i = 0; i < 5; i++)
      h.rememberSmart(
        { ...r, identity: { ...r.identity, key: `wwn:${i}`, device: `/dev/sd${i}` } },
        T0 + i,
      );
    assert.deepEqual(Object.keys(h.snapshot().smart.disks).sort(), ['wwn:3', 'wwn:4']);
    assert.deepEqual(Object.values(h.snapshot().smart.paths).sort(), ['wwn:3', 'wwn:4']);
    await h.save();
    assert.ok((await stat(join(dir, HISTORY_FILE))).size <= 6000 + 1);
  });

  it("finds a sleeping disk's last reading by identity or by device path", async (t) => {
    const dir = await stateDir(t);
    const h = await HealthHistory.load({ stateDir: dir });
    const full = readingFromText(
      await readFile(`${DIR}ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8.json`, 'utf8'),
      '/dev/sdc',
    );
    h.rememberSmart(full, T0);
    await h.save();
    const asleep = parseSmartReading(
      parseJson(
        JSON.stringify({
          smartctl: {
            exit_status: 2,
            messages: [{ string: 'Device is in STANDBY mode, exit(2)', severity: 'information' }],
          },
          device: { name: '/dev/sdc', type: 'usbjmicron', protocol: 'ATA' },
        }),
      ),
      '/dev/sdc',
    );
    const h2 = await HealthHistory.load({ stateDir: dir });
    const last = h2.lastSmart(asleep);
    assert.equal(last?.at, T0);
    assert.equal(last?.reading.identity.key, 'wwn:5000cca37fca81a8');
    assert.equal(last?.reading.attributes.reallocatedSectors, 1975);
  });

  it('keeps nothing on disk without a state directory', async () => {
    const h = await HealthHistory.load({ stateDir: null });
    h.observeEdac([mc(1, 0, 10)], T0);
    await h.save();
    assert.equal(h.loadProblem, null);
  });
});
