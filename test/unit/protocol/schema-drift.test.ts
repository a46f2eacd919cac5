import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { protocolJsonSchema, renderProtocolSchema } from '../../../shared/protocol/json-schema.ts';
import { SCHEMA_FILE } from '../../../shared/protocol/gen-schema.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('protocol JSON Schema', () => {
  it('docs/protocol.schema.json is what the zod schemas generate (run node dist/shared/protocol/gen-schema.js)', () => {
    assert.equal(SCHEMA_FILE, join(ROOT, 'docs/protocol.schema.json'));
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    assert.ok(
      committed === renderProtocolSchema(),
      'docs/protocol.schema.json has drifted from shared/protocol: regenerate it',
    );
  });

  it('names every message under $defs and keeps the bounds', () => {
    const s = protocolJsonSchema() as { $defs: Record<string, unknown> };
    for (const n of [
      'ClientMessage',
      'ServerMessage',
      'HelloMessage',
      'SnapshotMessage',
      'EventMessage',
      'StatsMessage',
      'GapMessage',
      'SubscribedMessage',
      'AckMessage',
      'ResultMessage',
      'ErrorMessage',
      'PongMessage',
      'SubscribeMessage',
      'CommandMessage',
      'PingMessage',
    ])
      assert.ok(n in s.$defs, n);
    const text = JSON.stringify(s);
    assert.match(
      text,
      /"pattern":"\^\[A-Za-z0-9\]\[A-Za-z0-9\._-\]\{0,63\}\$"/,
      'the name allowlist',
    );
    assert.match(text, /"additionalProperties":false/);
  });
});
