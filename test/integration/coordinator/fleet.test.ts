// A coordinator and two real agents on the test bed: a guest's crash reaches the coordinator
// with the agent's own seq, `virt-ft watch` shows the crash and the recovery live, and
// `virt-ft snapshot` makes a real libvirt snapshot on the right host.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runCliProcess, spawnCli } from '../../helpers/cli.ts';
import { testbedSkipReason, waitFor } from '../../helpers/testbed.ts';
import { API, Fleet2 } from './bed.ts';

interface Ev {
  id: number;
  host: string;
  seq: number;
  epoch: string;
  kind: string;
  name: string | null;
  event: Record<string, unknown>;
}

function virsh(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'virsh',
      ['-c', 'qemu:///system', ...args],
      { timeout: 30_000 },
      (err, out, errOut) => {
        if (err) reject(new Error(`virsh ${args.join(' ')}: ${errOut || err.message}`));
        else resolve(out);
      },
    );
  });
}

describe('coordinator with two real agents', { skip: testbedSkipReason, timeout: 300_000 }, () => {
  const bed = new Fleet2('fleet', 2);
  const env = { ...process.env, VIRT_FT_TOKEN: API.operator };
  before(async () => {
    await bed.open();
    await bed.reachable();
  });
  after(() => bed.close());

  it('lists both hosts as reachable, each with the VMs its agent sees', async () => {
    const r = await runCliProcess(['fleet', '--coordinator', bed.coord.url, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const hosts = (JSON.parse(r.stdout) as { hosts: { host: string; reachable: boolean }[] }).hosts;
    assert.deepEqual(
      hosts.map((h) => [h.host, h.reachable]),
      [
        ['vft-a', true],
        ['vft-b', true],
      ],
    );
    const text = await runCliProcess(['fleet', '--coordinator', bed.coord.url], { env });
    assert.match(text.stdout, /^HOST\s+REACHABLE/m);
    assert.match(text.stdout, /^vft-a\s+yes/m);
  });

  it("shows a guest crash and its recovery live in virt-ft watch, with the agent's seqs", async () => {
    const name = bed.names[0] ?? '';
    const lines: string[] = [];
    const watch = spawnCli(
      [
        'watch',
        '--coordinator',
        bed.coord.url,
        '--token',
        API.viewer,
        '--host',
        'vft-a',
        '--vm',
        name,
      ],
      (l) => lines.push(l),
    );
    try {
      await waitFor(() => lines.length > 0 || watch.exitCode !== null, {
        timeoutMs: 10_000,
        what: 'watch connected',
      });
      const dom = await bed.guest(0, { mode: 'panic', after: 3 });
      await bed.client.domainCreate(dom);
      await waitFor(() => lines.some((l) => / -> Crashed\/Panicked/.test(l)), {
        timeoutMs: 90_000,
        what: 'crash line',
      });
      await waitFor(() => lines.some((l) => /decision .*restart finished.*: ok/.test(l)), {
        timeoutMs: 90_000,
        what: 'recovery line',
      });
      const crashedAt = lines.findIndex((x) => / -> Crashed/.test(x));
      await waitFor(() => lines.slice(crashedAt).some((l) => / -> Running\//.test(l)), {
        timeoutMs: 90_000,
        what: 'running again',
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}; lines:\n${lines.join('\n')}`);
      });
    } finally {
      watch.kill('SIGINT');
    }
    // The crash as the coordinator stored it carries the agent's seq: the same event is in the agent's journal.
    const stored = (await bed.coord.get(`/v1/events?host=vft-a&vm=${name}&kind=domain&limit=1000`))[
      'events'
    ] as Ev[];
    const crash = stored.find(
      (e) => (e.event['to'] as { state?: string } | null)?.state === 'Crashed',
    );
    assert.ok(crash, `no crash among ${stored.length} events`);
    const journal = await bed.a.journal();
    const same = journal.find((e) => e.seq === crash.seq);
    assert.deepEqual(same, crash.event);
    // Agent b saw the same crash but did nothing: no decision of its own.
    const bDecisions = (await bed.coord.get(`/v1/events?host=vft-b&vm=${name}&kind=decision`))[
      'events'
    ] as Ev[];
    assert.equal(
      bDecisions.filter((e) => e.event['action'] !== 'none' && e.event['action'] !== 'observe')
        .length,
      0,
    );
    // The VM appeared after the snapshot: its policy level comes from a side snapshot.
    const vm = await waitFor(
      async () => {
        const r = await runCliProcess(
          ['vms', '--coordinator', bed.coord.url, '--host', 'vft-a', '--json'],
          { env },
        );
        const list = (
          JSON.parse(r.stdout) as {
            vms: { name: string; lastFailure: unknown; policyLevel: string | null }[];
          }
        ).vms;
        const v = list.find((x) => x.name === name);
        return v?.policyLevel ? v : null;
      },
      { timeoutMs: 30_000, what: 'the policy level in virt-ft vms' },
    );
    assert.equal(vm.policyLevel, 'low');
    assert.ok(vm.lastFailure, 'the VM shows its last failure');
    const table = await runCliProcess(['vms', '--coordinator', bed.coord.url], { env });
    assert.match(table.stdout, new RegExp(`^vft-b\\s+${name}\\s+\\S+\\s+\\S+\\s+off\\s`, 'm'));
  });

  it('virt-ft snapshot HOST/VM makes a libvirt snapshot, through the right agent', async () => {
    const name = bed.names[1] ?? '';
    const dom = await bed.guest(1);
    await bed.client.domainCreate(dom);
    await waitFor(
      async () => {
        const vms = (await bed.coord.get('/v1/vms?host=vft-a'))['vms'] as {
          name: string;
          state: string;
        }[];
        return vms.some((v) => v.name === name && v.state === 'Running');
      },
      { timeoutMs: 30_000, what: 'the VM at the coordinator' },
    );
    const key = `test-${Date.now()}`;
    const snapshotArgs = [
      'snapshot',
      `vft-a/${name}`,
      '--name',
      'before-upgrade',
      '--description',
      'from the CLI',
      '--key',
      key,
      '--coordinator',
      bed.coord.url,
    ];
    const r = await runCliProcess(snapshotArgs, { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /snapshot before-upgrade of vft-a\/.* created/);
    const list = await virsh(['snapshot-list', '--name', name]);
    assert.deepEqual(list.split('\n').filter(Boolean), ['before-upgrade']);
    // The command was run by vft-a's stream (audited there), not by vft-b's.
    const audited = (a: typeof bed.a) =>
      a.logs.filter((l) => l['audit'] === 'stream.command' && l['idemKey'] === key);
    assert.equal(audited(bed.a).length, 1);
    assert.equal(audited(bed.b).length, 0);
    // Asked again with the same key: answered from the key, no second snapshot.
    const again = await runCliProcess([...snapshotArgs, '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { duplicate: boolean }).duplicate, true);
    assert.equal(
      (await virsh(['snapshot-list', '--name', name])).split('\n').filter(Boolean).length,
      1,
    );
  });

  it('refuses a snapshot with one line and a non-zero exit: a viewer token, an unknown VM', async () => {
    const viewer = await runCliProcess([
      'snapshot',
      `vft-a/${bed.names[1] ?? ''}`,
      '--coordinator',
      bed.coord.url,
      '--token',
      API.viewer,
    ]);
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /^virt-ft: VFT_ERR_COORD_FORBIDDEN \(HTTP 403\)/);
    assert.equal(viewer.stderr.trim().split('\n').length, 1);
    const missing = await runCliProcess(
      ['snapshot', 'vft-a/no-such-vm', '--coordinator', bed.coord.url],
      { env },
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /VFT_ERR_COORD_NOT_FOUND/);
    const noToken = await runCliProcess(['fleet', '--coordinator', bed.coord.url], {
      env: { ...process.env, VIRT_FT_TOKEN: '' },
    });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /no token/);
  });
});
