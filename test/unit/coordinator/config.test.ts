// The coordinator's config: defaults, every problem listed with its path (exit 78), loopback
// by default, plain ws only to loopback agents, tokens required, JSON with comments.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../agent/config/load.ts';
import { loadCoordinatorConfig, validateCoordinatorConfig } from '../../../coordinator/config.ts';
import { tempDir } from '../stream/setup.ts';

const token = { id: 'admin-1', role: 'admin', sha256: 'a'.repeat(64) };
const agent = { id: 'kvm-1', url: 'ws://127.0.0.1:7443/v1/stream', token: 't'.repeat(32) };

function problems(value: unknown): string[] {
  try {
    validateCoordinatorConfig(value, 'test.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.exitCode, 78);
    return [...err.problems];
  }
  return [];
}

describe('coordinator config', () => {
  it('fills defaults: loopback API, SQLite store with bounded retention', () => {
    const c = validateCoordinatorConfig({ api: { tokens: [token] }, agents: [agent] }, 'x');
    assert.equal(c.api.listen, '127.0.0.1:7440');
    assert.equal(c.store.kind, 'sqlite');
    assert.equal(c.store.maxEvents, 5_000_000);
    assert.equal(c.api.maxBodyBytes, 65536);
    assert.equal(c.reconnect.capMs, 30_000);
  });

  it('lists every problem with its path', () => {
    const p = problems({
      api: { listen: '0.0.0.0:7440', tokens: [] },
      agents: [
        { id: 'a', url: 'ws://10.1.2.3:7443/v1/stream', token: 't'.repeat(32) },
        { id: 'a', url: 'wss://kvm:7443/v1/stream' },
        { id: 'b', url: 'http://x', token: 't'.repeat(32), tokenFile: '/x' },
      ],
      bogus: 1,
    });
    const text = p.join('\n');
    assert.match(text, /agents\.0: plain ws:\/\/ only to a loopback address/);
    assert.match(text, /agents\.1: set exactly one of token or tokenFile/);
    assert.match(text, /agents\.2\.url/);
    assert.match(text, /\(top level\): Unrecognized key: "bogus"/);
    const p2 = problems({ api: { listen: '0.0.0.0:7440', tokens: [] }, agents: [agent, agent] });
    assert.match(p2.join('\n'), /agents\.1\.id: duplicate id kvm-1/);
    assert.match(p2.join('\n'), /api\.listen: 0\.0\.0\.0 listens on every interface/);
    assert.match(p2.join('\n'), /api\.tokens: the API needs at least one token/);
    assert.match(
      problems({ api: { listen: '10.0.0.5:7440', tokens: [token] } }).join('\n'),
      /api\.tls: plain HTTP/,
    );
  });

  it('reads JSON with comments and reports an unreadable or invalid file as a ConfigError', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'c.jsonc');
    await writeFile(
      file,
      `{\n  // the admins\n  "api": { "tokens": [${JSON.stringify(token)}] } /* no agents yet */\n}\n`,
    );
    assert.equal((await loadCoordinatorConfig(file)).agents.length, 0);
    await writeFile(file, '{ "api": ');
    await assert.rejects(
      loadCoordinatorConfig(file),
      (e: unknown) => e instanceof ConfigError && /not valid JSON/.test(e.message),
    );
    await assert.rejects(loadCoordinatorConfig(join(dir, 'none')), /cannot read the file/);
  });
});
