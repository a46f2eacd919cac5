/**
 * `virt-ft events --json` against real guests, beside libvirt's own C client
 * (`virsh event --timestamp`) as the reference for when libvirt emitted each event.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient, UndefineFlags } from '../../../agent/libvirt/index.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { spawnCli } from '../../helpers/cli.ts';
import { qemuPid } from '../../helpers/daemon.ts';
import {
  guestDomainXml,
  requireTestbed,
  testbedSkipReason,
  waitFor,
} from '../../helpers/testbed.ts';
import type { GuestOptions } from '../../helpers/testbed.ts';

interface Line {
  time: string;
  domain?: string;
  uuid?: string;
  event: string;
  type?: string | null;
  detail?: string | null;
  state?: string;
}

describe('virt-ft events --json with real guests', { skip: testbedSkipReason }, () => {
  const ours: Line[] = [];
  const virsh: { at: number; text: string }[] = [];
  let cli: ReturnType<typeof spawnCli>;
  let ref: ReturnType<typeof spawn>;
  let client: LibvirtClient;
  const made: Domain[] = [];

  before(async () => {
    const uri = requireTestbed().connect;
    client = await LibvirtClient.connect({ uri });
    cli = spawnCli(['events', '--connect', uri, '--json'], (l) => ours.push(JSON.parse(l) as Line));
    ref = spawn('virsh', ['-c', uri, 'event', '--all', '--loop', '--timestamp'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    ref.stdout?.setEncoding('utf8');
    ref.stdout?.on('data', (chunk: string) => {
      for (const text of chunk.split('\n').filter(Boolean)) {
        // "2026-11-29 19:00:00.123+0000: event 'lifecycle' for domain 'x': Crashed Panicked"
        const m = /^(\S+ \S+?)([+-]\d{4}): /.exec(text);
        if (m) virsh.push({ at: Date.parse(`${m[1]?.replace(' ', 'T')}${m[2]}`), text });
      }
    });
    await waitFor(() => ours.some((l) => l.event === 'session' && l.state === 'connected'), {
      timeoutMs: 10_000,
      what: 'virt-ft events to connect',
    });
    await new Promise((r) => setTimeout(r, 500)); // let virsh register too
  });

  after(async () => {
    cli.kill('SIGINT');
    ref.kill('SIGTERM');
    for (const d of made) {
      const live = await client.lookupDomainByUuid(d.uuid);
      if (!live) continue;
      if (await client.domainIsActive(live)) await client.domainDestroy(live);
      await client.domainUndefine(live, UndefineFlags.MANAGED_SAVE);
    }
    await client.close();
  });

  async function startGuest(suffix: string, opts: Partial<GuestOptions>): Promise<Domain> {
    const name = `vft-test-${suffix}-${randomUUID().slice(0, 8)}`;
    const dom = await client.domainDefineXml(guestDomainXml({ name, ...opts }));
    made.push(dom);
    await client.domainCreate(dom);
    return dom;
  }

  function within1s(line: Line, dom: Domain, virshSuffix: string): void {
    const refLine = virsh.find(
      (v) => v.text.includes(`'${dom.name}'`) && v.text.endsWith(virshSuffix),
    );
    assert.ok(
      refLine,
      `virsh saw no "${virshSuffix}" for ${dom.name}: ${virsh.map((v) => v.text).join(' | ')}`,
    );
    const delta = Date.parse(line.time) - refLine.at;
    assert.ok(
      Math.abs(delta) <= 1000,
      `virt-ft printed it ${delta} ms after libvirt's own client saw it`,
    );
  }

  it('shows a real guest panic as a Crashed/Panicked line within one second of libvirt emitting it', async () => {
    const dom = await startGuest('evpanic', { mode: 'panic', after: 1, onCrash: 'preserve' });
    const line = await waitFor(
      () => ours.find((l) => l.uuid === dom.uuid && l.type === 'Crashed'),
      { timeoutMs: 60_000, what: 'Crashed line' },
    );
    assert.deepEqual(
      {
        domain: line.domain,
        uuid: line.uuid,
        event: line.event,
        type: line.type,
        detail: line.detail,
      },
      { domain: dom.name, uuid: dom.uuid, event: 'lifecycle', type: 'Crashed', detail: 'Panicked' },
    );
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await waitFor(
      () =>
        virsh.some((v) => v.text.includes(`'${dom.name}'`) && v.text.endsWith('Crashed Panicked')),
      { timeoutMs: 5_000, what: 'virsh line' },
    );
    within1s(line, dom, 'Crashed Panicked');
  });

  it('shows a QEMU killed with SIGKILL as a Stopped/Failed line', async () => {
    const dom = await startGuest('evkill', {});
    await waitFor(() => ours.find((l) => l.uuid === dom.uuid && l.type === 'Started'), {
      timeoutMs: 60_000,
      what: 'Started line',
    });
    process.kill(await qemuPid(dom.name), 'SIGKILL');
    const line = await waitFor(
      () => ours.find((l) => l.uuid === dom.uuid && l.type === 'Stopped'),
      { timeoutMs: 15_000, what: 'Stopped line' },
    );
    assert.equal(line.detail, 'Failed');
    await waitFor(
      () =>
        virsh.some((v) => v.text.includes(`'${dom.name}'`) && v.text.endsWith('Stopped Failed')),
      { timeoutMs: 5_000, what: 'virsh line' },
    );
    within1s(line, dom, 'Stopped Failed');
  });
});
