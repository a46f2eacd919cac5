/**
 * What the client and the supervisor do when libvirtd itself fails: SIGKILL mid-call (every
 * pending call rejected at once, the close reported), SIGSTOP (keepalive declares it dead
 * within interval × (count + 1)), and a restart (the supervisor reconnects, re-registers
 * events and says so). Restarts the test bed's libvirtd; guests keep running meanwhile.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LibvirtClient, LibvirtClosedError } from '../../../agent/libvirt/index.ts';
import { LibvirtSession } from '../../../agent/supervisor/libvirt-session.ts';
import type { SessionItem } from '../../../agent/supervisor/libvirt-session.ts';
import { libvirtdPid, startLibvirtd } from '../../helpers/daemon.ts';
import { Collector } from '../../helpers/events.ts';
import { makeNodeDomains, writeNodeFile } from '../../helpers/test-driver-node.ts';
import { guestDomainXml, requireTestbed, testbedSkipReason } from '../../helpers/testbed.ts';

describe('libvirtd failures', { skip: testbedSkipReason, timeout: 120_000 }, () => {
  after(async () => {
    // Leave a running daemon behind whatever happened.
    try {
      process.kill(await libvirtdPid(), 'SIGCONT');
    } catch {
      // not running
    }
    await startLibvirtd();
  });

  it('libvirtd killed with SIGKILL mid-call rejects every pending call promptly and reports the close', async () => {
    const node = await writeNodeFile(makeNodeDomains(200));
    const client = await LibvirtClient.connect({ uri: node.uri, callTimeoutMs: 60_000 });
    const doms = await client.listAllDomains();
    // 2,000 calls: 4 on the wire, the rest queued locally, when the daemon dies.
    const calls = Array.from({ length: 2000 }, (_, i) =>
      client.domainGetState(doms[i % doms.length]!),
    );
    const settled = Promise.allSettled(calls);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    process.kill(await libvirtdPid(), 'SIGKILL');
    const results = await settled;
    const elapsed = performance.now() - t0;
    const info = await client.closed;
    await node.cleanup();
    await startLibvirtd();
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.ok(rejected.length > 0, 'some calls were still pending at the kill');
    for (const r of rejected) {
      assert.ok(r.reason instanceof LibvirtClosedError, String(r.reason));
      // The kernel reports a killed peer as EOF or as ECONNRESET, whichever it sees first.
      assert.ok(['eof', 'error'].includes(r.reason.reason), r.reason.reason);
      assert.match(r.reason.message, /outcome is unknown/);
    }
    assert.ok(['eof', 'error'].includes(info.reason), info.reason);
    // Promptly: far below the 60 s call deadline.
    assert.ok(elapsed < 5_000, `pending calls took ${Math.round(elapsed)} ms to settle`);
  });

  it('libvirtd stopped with SIGSTOP is declared dead by keepalive within interval × (count + 1)', async (t) => {
    const interval = 500;
    const count = 3;
    const client = await LibvirtClient.connect({
      uri: requireTestbed().connect,
      keepaliveIntervalMs: interval,
      keepaliveCount: count,
    });
    const pid = await libvirtdPid();
    t.after(() => {
      process.kill(pid, 'SIGCONT');
    });
    const pending = client.getHostname().catch((e: unknown) => e);
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    const info = await client.closed;
    const elapsed = performance.now() - t0;
    process.kill(pid, 'SIGCONT');
    assert.equal(info.reason, 'keepalive');
    assert.ok(
      elapsed <= interval * (count + 1) + 250,
      `declared dead after ${Math.round(elapsed)} ms`,
    );
    assert.ok(
      elapsed >= interval * count - 250,
      `declared dead too early, after ${Math.round(elapsed)} ms`,
    );
    const err = await pending;
    // The call may have been answered before the stop; if not, it was rejected by the close.
    if (err instanceof Error) assert.ok(err instanceof LibvirtClosedError);
  });

  it('the supervisor reconnects after a libvirtd restart, re-registers events and says so', async () => {
    let onConnected = 0;
    const session = new LibvirtSession({
      open: { uri: requireTestbed().connect },
      backoff: { baseMs: 100, factor: 2, capMs: 1000, jitter: 0.2 },
      onConnected: async (client, { reconnect }) => {
        onConnected++;
        // The hook runs with a working client before events resume: re-list here.
        await client.listAllDomains();
        assert.equal(reconnect, onConnected > 1);
      },
    });
    await session.start();
    const items = new Collector<SessionItem>(session);
    process.kill(await libvirtdPid(), 'SIGKILL');
    const down = await items.waitFor(
      (e) => e.event === 'session' && e.state === 'disconnected',
      5_000,
    );
    await startLibvirtd();
    const back = await items.waitFor(
      (e) => e.event === 'session' && e.state === 'connected',
      30_000,
      items.items.indexOf(down),
    );
    assert.equal(
      back.event === 'session' && back.state === 'connected' ? back.reconnect : null,
      true,
    );
    assert.equal(onConnected, 2);
    assert.equal(session.connects, 2);
    // Events flow again on the new connection: defining and undefining a domain emits them.
    const client = session.client;
    assert.ok(client);
    const name = `vft-test-resub-${process.pid}`;
    const dom = await client.domainDefineXml(guestDomainXml({ name }));
    await client.domainUndefine(dom);
    const from = items.items.indexOf(back);
    await items.waitFor(
      (e) => e.event === 'lifecycle' && e.domain.name === name && e.type === 'Undefined',
      5_000,
      from,
    );
    assert.deepEqual(
      items.labels(from).filter((l) => l.startsWith('Defined') || l.startsWith('Undefined')),
      ['Defined/Added', 'Undefined/Removed'],
    );
    await session.close();
    await items.done;
    const states = items.items
      .filter((e) => e.event === 'session')
      .map((e) => (e.event === 'session' ? e.state : ''));
    assert.deepEqual(
      states.filter((s) => s !== 'backoff'),
      ['connected', 'disconnected', 'connected'],
    );
  });
});
