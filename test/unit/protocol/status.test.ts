import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AgentConfigSchema } from '../../../agent/config/schema.ts';
import { HealthConfigSchema } from '../../../agent/health/config.ts';
import { EdacReader } from '../../../agent/health/edac.ts';
import { evaluateCaptures } from '../../../agent/health/host-health.ts';
import { silentLogger } from '../../../agent/health/reader.ts';
import { readingFromText } from '../../../agent/health/smart-parse.ts';
import { resolvePolicy } from '../../../agent/policy/schema.ts';
import { AgentStore } from '../../../agent/state/store.ts';
import { buildStatus } from '../../../agent/status.ts';
import { DomainTracker } from '../../../agent/tracker/domain-tracker.ts';
import {
  bigintReplacer,
  encodeMessage,
  parseServerMessage,
} from '../../../shared/protocol/index.ts';
import type { SnapshotMessage } from '../../../shared/protocol/index.ts';

const FIXTURES = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../..'),
  'test/fixtures',
);
const UUID = '11111111-1111-4111-8111-111111111111';
const quiet = { error: () => undefined, warn: () => undefined };

describe('the real status as a snapshot', () => {
  it('fits the protocol (bounds and depth 8), health report and decisions included', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vft-status-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const store = await AgentStore.open(dir, quiet);
    const rec = store.record(UUID, 'web-1');
    rec.snapshots.push({ name: 'vft-20260101T000000Z', takenAt: 1, knownGoodAt: 2, measure: null });
    rec.measures.lastFailure = { at: 5, kind: 'guest-crash', signal: 'Crashed/Panicked' };
    await store.recordDecision({
      id: 'd-1',
      at: 10,
      domain: { uuid: UUID, name: 'web-1' },
      failure: { kind: 'guest-crash', signal: 's', late: false, at: 9 },
      shadow: false,
      action: 'restart',
      delayMs: 0,
      rule: 'restart',
      reasons: ['r'],
      outcome: { ok: true, at: 11, message: 'ok' },
    });
    const tracker = new DomainTracker();
    tracker.seed([{ uuid: UUID, name: 'web-1', state: 'Running', reason: 'Booted', since: 0 }]);
    const config = HealthConfigSchema.parse({});
    const smart = [
      'ata-hdd-hitachi-usbjmicron-FAILED-realloc1975-pending8.json',
      'ata-hdd-wdc-red-wd20efrx-healthy.json',
    ].map((f) => readingFromText(readFileSync(join(FIXTURES, 'smartctl', f), 'utf8'), f));
    const edac = await new EdacReader(
      { sysfsRoot: join(FIXTURES, 'sys/edac-skx-dimm-5539-ce') },
      silentLogger,
    ).read();
    const health = await evaluateCaptures(smart, config, edac);
    const status = buildStatus({
      agentId: 'host-1',
      startedAt: 0,
      config: AgentConfigSchema.parse({}),
      connected: true,
      tracker,
      store,
      info: new Map([
        [UUID, { hasGuestAgent: true, metadataPolicy: { level: 'high' }, metadataError: null }],
      ]),
      policyOf: () => resolvePolicy({ level: 'high' }),
      stats: new Map([
        [UUID, { 'cpu.time': 12345678901234567890n, 'balloon.current': 1024, at: 1 }],
      ]),
      health,
      pending: [{ uuid: UUID, action: 'restart', dueAt: 20 }],
      inGrace: false,
      incident: false,
    });
    await store.close();
    const msg = {
      v: 1,
      type: 'snapshot',
      epoch: 'e-1',
      seq: 7,
      status: JSON.parse(JSON.stringify(status, bigintReplacer)) as unknown,
    } as SnapshotMessage;
    const r = parseServerMessage(encodeMessage(msg));
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.ok(
      r.message.type === 'snapshot' &&
        r.message.status.domains[0]?.stats?.['cpu.time'] === '12345678901234567890',
    );
    assert.ok(health.disks.length === 2 && status.health !== null);
  });
});
