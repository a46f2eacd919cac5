import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyMetadata, policyMetadataXml } from '../../../agent/policy/metadata.ts';
import { resolvePolicy } from '../../../agent/policy/schema.ts';

describe('policy resolution', () => {
  it('level presets: high turns on snapshots, checkpoints and revert; low does not', () => {
    const high = resolvePolicy({ level: 'high' });
    assert.equal(high.snapshots.enabled, true);
    assert.equal(high.checkpoints.enabled, true);
    assert.equal(high.revertToKnownGood, true);
    const low = resolvePolicy({ level: 'low' });
    assert.equal(low.snapshots.enabled, false);
    assert.equal(low.revertToKnownGood, false);
  });

  it('later overrides win, deeply, and the last level set counts', () => {
    const p = resolvePolicy(
      { level: 'low', restart: { maxRestarts: 5 } },
      { restart: { windowMs: 60_000 } },
      { level: 'high', snapshots: { retain: 7 } },
    );
    assert.equal(p.level, 'high');
    assert.equal(p.restart.maxRestarts, 5);
    assert.equal(p.restart.windowMs, 60_000);
    assert.equal(p.snapshots.retain, 7);
    assert.equal(p.snapshots.enabled, true);
  });
});

describe('policy in domain metadata', () => {
  it('reads the level, sections and typed values', () => {
    const r = parsePolicyMetadata(
      '<vft:policy xmlns:vft="https://virt-ft.dev/xmlns/policy/1" level="high" shadow="false"><vft:restart strategy="always" maxRestarts="5"/><vft:snapshots intervalMs="1800000"/></vft:policy>',
    );
    assert.ok('policy' in r, JSON.stringify(r));
    assert.deepEqual(r.policy, {
      level: 'high',
      shadow: false,
      restart: { strategy: 'always', maxRestarts: 5 },
      snapshots: { intervalMs: 1_800_000 },
    });
  });

  it('reports invalid metadata instead of guessing', () => {
    const bad = parsePolicyMetadata('<policy level="ultra"/>');
    assert.ok('error' in bad);
    assert.match(bad.error, /level/);
    const section = parsePolicyMetadata('<policy><reboot/></policy>');
    assert.ok('error' in section);
    assert.match(section.error, /unknown policy section <reboot>/);
    const key = parsePolicyMetadata('<policy><restart maxRestart="2"/></policy>');
    assert.ok('error' in key);
    assert.match(key.error, /restart/);
    assert.ok('error' in parsePolicyMetadata('<policy'));
  });
});

describe('policy metadata writer', () => {
  it('round-trips through the parser', () => {
    const p = {
      level: 'high' as const,
      shadow: true,
      restart: { strategy: 'always' as const, maxRestarts: 2 },
      snapshots: { retain: 5, memory: false },
    };
    const xml = policyMetadataXml(p);
    assert.match(
      xml,
      /^<policy level="high" shadow="true"><restart strategy="always" maxRestarts="2"\/><snapshots retain="5" memory="false"\/><\/policy>$/,
    );
    assert.deepEqual(parsePolicyMetadata(xml), { policy: p });
  });
});
