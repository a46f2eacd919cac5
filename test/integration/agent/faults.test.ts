/**
 * The agent under faults, on the real test bed: libvirtd killed and restarted while a VM dies
 * (the transition is reported once, marked late, and acted on); the agent itself SIGKILLed in
 * the middle of a snapshot (the restart notices the in-flight action and resolves it, with no
 * second snapshot).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient } from '../../../agent/libvirt/index.ts';
import type { Domain } from '../../../agent/libvirt/index.ts';
import { libvirtdPid, qemuPid, startLibvirtd } from '../../helpers/daemon.ts';
import { AgentProcess } from '../../helpers/agent-process.ts';
import type { LogLine } from '../../helpers/agent-process.ts';
import {
  defineTestGuest,
  requireTestbed,
  testbedSkipReason,
  waitFor,
} from '../../helpers/testbed.ts';
import type { GuestOptions, TestGuest } from '../../helpers/testbed.ts';

const tag = randomUUID().slice(0, 6);
const GAP = `vft-test-ag-gap-${tag}`;
const STEADY = `vft-test-ag-steady-${tag}`;
const SNAP = `vft-test-ag-snapkill-${tag}`;

const changed = (name: string) => (l: LogLine) =>
  l['domainName'] === name && typeof l.msg === 'string' && l.msg.startsWith('domain state changed');
const toState = (l: LogLine): string | undefined =>
  (l['to'] as { state?: string } | null | undefined)?.state;

describe('virt-ft agent under faults', { skip: testbedSkipReason, timeout: 600_000 }, () => {
  let client: LibvirtClient;
  const doms = new Map<string, Domain>();
  const agents: AgentProcess[] = [];

  const guests: TestGuest[] = [];

  async function guest(name: string, opts: Partial<GuestOptions> = {}): Promise<Domain> {
    const g = await defineTestGuest(client, { name, ...opts });
    guests.push(g);
    doms.set(name, g.dom);
    await client.domainCreate(g.dom);
    return g.dom;
  }

  async function reconnect(): Promise<void> {
    await client.close().catch(() => undefined);
    client = await LibvirtClient.connect({ uri: requireTestbed().connect });
  }

  before(async () => {
    client = await LibvirtClient.connect({ uri: requireTestbed().connect });
  });

  after(async () => {
    for (const a of agents) await a.cleanup();
    await startLibvirtd();
    await reconnect();
    for (const g of guests) await g.remove(client); // the client of the moment
    await client.close();
  });

  it('libvirtd restarted while a VM dies: the transition is reported once, late, and the VM recovered', async () => {
    const agent = await AgentProcess.start({
      config: {
        startupGraceMs: 1_000,
        health: { enabled: false },
        policy: { level: 'off' },
        domains: { [GAP]: { level: 'low' }, [STEADY]: { level: 'low' } },
      },
    });
    agents.push(agent);
    await guest(GAP);
    await guest(STEADY);
    await agent.waitForLog((l) => changed(GAP)(l) && toState(l) === 'Running', 60_000);
    await agent.waitForLog((l) => changed(STEADY)(l) && toState(l) === 'Running', 60_000);
    const gapQemu = await qemuPid(GAP);
    const from = agent.logs.length;

    process.kill(await libvirtdPid(), 'SIGKILL');
    await agent.waitForLog(
      (l) => l.msg === 'libvirt connection lost: every VM is unknown until it is back',
      10_000,
      from,
    );
    process.kill(gapQemu, 'SIGKILL'); // dies during the gap: no event can tell anyone
    await startLibvirtd();
    await reconnect();

    await agent.waitForLog(
      (l) => l.msg === 'libvirt connection back: domains re-listed',
      60_000,
      from,
    );
    const decision = await agent.waitForLog(
      (l) => l['domainName'] === GAP && l.msg === 'decision: restart',
      30_000,
      from,
    );
    assert.match(JSON.stringify(decision['reasons']), /seen late, after a gap/);
    await agent.waitForLog(
      (l) =>
        l['decision'] === decision['decision'] && l.msg === 'decision outcome' && l['ok'] === true,
      60_000,
      from,
    );
    await waitFor(
      async () => (await client.domainGetState(doms.get(GAP)!)).stateName === 'Running',
      { timeoutMs: 30_000, what: 'gap VM running' },
    );

    // Exactly one transition to Shutoff for the VM that died, marked late; none for the steady one.
    const gapChanges = agent.logs
      .slice(from)
      .filter((l) => changed(GAP)(l) && toState(l) === 'Shutoff');
    assert.equal(gapChanges.length, 1, JSON.stringify(gapChanges));
    assert.equal(gapChanges[0]?.['late'], true);
    assert.deepEqual(
      agent.logs.slice(from).filter((l) => changed(STEADY)(l)),
      [],
    );
    assert.equal(
      agent.decisions(from).filter((l) => l['domainName'] === GAP).length,
      1,
      'one decision, not two',
    );
    await agent.kill('SIGTERM');
  });

  it('the agent SIGKILLed in the middle of a snapshot: its restart notices and resolves it, with no second snapshot', async () => {
    const config = {
      startupGraceMs: 1_000,
      health: { enabled: false },
      policy: { level: 'off' },
      domains: {
        [SNAP]: {
          level: 'high',
          snapshots: { intervalMs: 10_000 },
          checkpoints: { enabled: false },
        },
      },
    };
    const agent = await AgentProcess.start({ config });
    agents.push(agent);
    // More guest memory makes the memory snapshot long enough to be killed inside.
    const dom = await guest(SNAP, { memoryMiB: 768 });
    const started = await agent.waitForLog(
      (l) => l['domainUuid'] === dom.uuid && l.msg === 'action snapshot.create started',
      90_000,
    );
    assert.equal(await agent.kill('SIGKILL'), null);
    const key = String(started['idempotencyKey']);

    const from = agent.logs.length;
    await agent.spawn();
    const resolved = await agent.waitForLog(
      (l) => l.msg === 'interrupted actions resolved',
      30_000,
      from,
    );
    // recover() runs before the scheduler starts: this is the state the crash left.
    const names = (await client.listAllSnapshots(dom)).map((s) => s.name);
    const entries = resolved['recovered'] as {
      idempotencyKey: string;
      kind: string;
      outcome: string;
      detail: string;
    }[];
    const mine = entries.find((e) => e.idempotencyKey === key);
    assert.ok(
      mine,
      `the interrupted snapshot is among the recovered actions: ${JSON.stringify(entries)}`,
    );
    assert.equal(mine.kind, 'snapshot.create');
    assert.ok(['succeeded', 'failed'].includes(mine.outcome), `${mine.outcome}: ${mine.detail}`);
    // Exactly what the interrupted action did, no more: one snapshot if it got through, none if not.
    assert.equal(
      names.length,
      mine.outcome === 'succeeded' ? 1 : 0,
      `${mine.outcome}; snapshots: ${names.join(', ')}`,
    );
    // The record stops a retry with the same key from running again.
    const keyFile = (await import('node:crypto')).createHash('sha256').update(key).digest('hex');
    await (
      await import('node:fs/promises')
    ).access(join(agent.stateDir, 'actions', 'keys', `${keyFile}.json`));
    await agent.kill('SIGTERM');
  });
});
