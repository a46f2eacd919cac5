import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, stripJsonComments } from '../../../agent/config/load.ts';

describe('agent config', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vft-config-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, text: string) => {
    const p = join(dir, name);
    await writeFile(p, text);
    return p;
  };

  it('an empty object gives every default, frozen', async () => {
    const c = await loadConfig(await file('empty.json', '{}'));
    assert.equal(c.libvirt.uri, 'qemu:///system');
    assert.equal(c.stateDir, '/var/lib/virt-ft');
    assert.equal(c.policy.level, 'low');
    assert.ok(Object.isFrozen(c.libvirt));
  });

  it('accepts comments (JSONC) but not inside strings', () => {
    assert.equal(
      stripJsonComments('{ // c\n "a": "//x", /* y */ "b": 1 }'),
      '{ \n "a": "//x",  "b": 1 }',
    );
    assert.deepEqual(JSON.parse(stripJsonComments('{"u":"a/*b*/c"}')), { u: 'a/*b*/c' });
  });

  it('reports every problem with its path', async () => {
    const p = await file(
      'bad.json',
      JSON.stringify({
        libvirt: { callTimeoutMs: 'soon' },
        policy: { level: 'ultra' },
        domains: { web: { restart: { maxRestart: 3 } } },
        typo: 1,
      }),
    );
    await assert.rejects(loadConfig(p), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.exitCode, 78);
      const text = err.problems.join('\n');
      assert.match(text, /^libvirt\.callTimeoutMs: /m);
      assert.match(text, /^policy\.level: /m);
      assert.match(text, /^domains\.web\.restart: Unrecognized key: "maxRestart"/m);
      assert.match(text, /^\(top level\): Unrecognized key: "typo"/m);
      assert.equal(err.problems.length, 4);
      return true;
    });
  });

  it('says which line holds a JSON syntax error, and when the file is missing', async () => {
    const p = await file('syntax.json', '{\n  "stateDir": "/x",\n  oops\n}');
    await assert.rejects(loadConfig(p), /not valid JSON: .*\(line 3\)/);
    await assert.rejects(loadConfig(join(dir, 'missing.json')), /cannot read the file/);
  });
});
