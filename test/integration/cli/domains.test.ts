import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeNodeDomains, writeNodeFile } from '../../helpers/test-driver-node.ts';
import { runCliProcess } from '../../helpers/cli.ts';

const STATE_NAMES: Record<number, string> = { 1: 'Running', 3: 'Paused', 5: 'Shutoff' };

describe('virt-ft domains', () => {
  const domains = makeNodeDomains(1000);
  let uri: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    const node = await writeNodeFile(domains);
    uri = node.uri;
    cleanup = node.cleanup;
  });
  after(() => cleanup());

  it('lists a 1,000-domain node file correctly as JSON', async () => {
    const r = await runCliProcess(['domains', '--connect', uri, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as {
      name: string;
      uuid: string;
      state: string;
      reason: string;
      vcpus: number;
      memoryKiB: number;
    }[];
    assert.equal(rows.length, 1000);
    const byName = new Map(rows.map((x) => [x.name, x]));
    for (const d of domains) {
      const row = byName.get(d.name);
      assert.ok(row, `missing ${d.name}`);
      assert.equal(row.uuid, d.uuid);
      assert.equal(row.state, STATE_NAMES[d.runState]);
      assert.equal(row.vcpus, d.vcpus);
      assert.equal(row.memoryKiB, d.memoryKiB);
      assert.equal(typeof row.reason, 'string');
    }
  });

  it('prints a table with one line per domain', async () => {
    const r = await runCliProcess(['domains', '--connect', uri]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+UUID\s+STATE\s+REASON\s+VCPUS\s+MEMORY$/);
    assert.equal(lines.length, 1001);
    assert.match(
      lines[4] ?? '',
      /^d0003\s+f7000000-0000-0000-0000-000000000003\s+Paused\s+\S+\s+4\s+512 MiB$/,
    );
  });

  it('fails with one clear line and a non-zero exit when libvirt is unreachable', async () => {
    const r = await runCliProcess([
      'domains',
      '--connect',
      'qemu:///system?socket=/nonexistent/sock',
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    assert.match(
      r.stderr,
      /^virt-ft: Cannot connect to libvirt at \/nonexistent\/sock: .*ENOENT.*running\?\)\n$/,
    );
  });

  it('rejects a malformed URI and an unknown option with a usage error', async () => {
    const bad = await runCliProcess(['domains', '--connect', 'not a uri']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^virt-ft: Cannot use libvirt URI "not a uri"/);
    const usage = await runCliProcess(['domains', '--bogus']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown option '--bogus'/);
  });
});
