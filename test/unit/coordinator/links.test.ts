// The coordinator against real stream servers with fake agents: events arrive with the agent's
// seqs and update the fleet; a coordinator restart resumes from the stored cursor (dense, no
// duplicate); an agent that goes away is unreachable (with when it was last heard), comes
// back and resumes; a new journal (epoch) gives a snapshot; actions to an unreachable host
// fail clearly; the live tail shows events and reachability.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeAgent, UUID_A } from '../stream/fake-agent.ts';
import { startServer, tempDir, waitUntil } from '../stream/setup.ts';
import { freePort } from '../../helpers/agent-process.ts';
import { ADMIN, allReachable, startCoordinator, watch } from './setup.ts';
import type { CoordHarness } from './setup.ts';

interface HostJson {
  host: string;
  reachable: boolean;
  seq: number;
  epoch: string | null;
  lastHeardAgoMs: number | null;
  vms: Record<string, number>;
}

async function host(h: CoordHarness, id = 'host-0'): Promise<HostJson> {
  const r = await h.request('GET', '/v1/hosts');
  const x = (r.body['hosts'] as HostJson[]).find((y) => y.host === id);
  assert.ok(x);
  return x;
}

async function seqs(h: CoordHarness, id = 'host-0'): Promise<number[]> {
  const r = await h.request('GET', `/v1/events?host=${id}&after=0&limit=1000`);
  return (r.body['events'] as { seq: number }[]).map((e) => e.seq);
}

async function waitSeq(h: CoordHarness, seq: number, id = 'host-0'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await host(h, id)).seq < seq) {
    if (Date.now() > deadline) throw new Error(`host ${id} never reached seq ${seq}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A stream server on a fixed port (so it can come back on the same address). */
async function agentAt(t: TestContext, port: number, agent: FakeAgent, stateDir: string) {
  return startServer(t, { agent, stateDir, config: { listen: `127.0.0.1:${port}` } });
}

describe('coordinator links', () => {
  it('applies events with the agent seqs: state, failure and VM counts', async (t) => {
    const a = await startServer(t);
    const h = await startCoordinator(t, [a]);
    await allReachable(h);
    a.agent.transition(UUID_A, 'Crashed');
    await a.server.flush();
    await waitSeq(h, a.server.stats().journal?.seq ?? 1);
    const vms = (await h.request('GET', '/v1/vms')).body['vms'] as Record<string, unknown>[];
    const web = vms.find((v) => v['name'] === 'web-1');
    assert.equal(web?.['state'], 'Crashed');
    assert.equal(web?.['status'], 'failed');
    assert.equal(web?.['policyLevel'], 'low');
    assert.ok(web?.['lastFailure']);
    const hj = await host(h);
    assert.deepEqual(hj.vms, { total: 2, running: 1, failed: 1 });
    assert.equal(hj.epoch, a.server.stats().journal?.epoch);
    assert.deepEqual(await seqs(h), [a.server.stats().journal?.seq]);
  });

  it('resumes after a coordinator restart from the stored cursor: dense seqs, none twice', async (t) => {
    const a = await startServer(t);
    const dir = await tempDir(t);
    const first = await startCoordinator(t, [a], { stateDir: dir, store: 'sqlite' });
    await allReachable(first);
    a.agent.transition(UUID_A, 'Paused');
    a.agent.transition(UUID_A, 'Running');
    await a.server.flush();
    await waitSeq(first, 2);
    await first.coordinator.close();
    for (const s of ['Crashed', 'Shutoff', 'Running']) a.agent.transition(UUID_A, s);
    await a.server.flush();
    const second = await startCoordinator(t, [a], { stateDir: dir, store: 'sqlite' });
    await waitSeq(second, 5);
    assert.deepEqual(await seqs(second), [1, 2, 3, 4, 5]);
    const sub = await second.logs.waitFor((l) => l['msg'] === 'subscribed');
    assert.equal(sub['mode'], 'resume');
    assert.equal(sub['replayed'], 3);
    const vm = (
      (await second.request('GET', '/v1/vms')).body['vms'] as Record<string, unknown>[]
    ).find((v) => v['name'] === 'web-1');
    assert.equal(vm?.['state'], 'Running');
  });

  it('shows an agent that went away as unreachable, then resumes it when it is back', async (t) => {
    const port = await freePort();
    const agent = new FakeAgent();
    const dir = await tempDir(t);
    const a1 = await agentAt(t, port, agent, dir);
    const h = await startCoordinator(t, [a1]);
    await allReachable(h);
    agent.transition(UUID_A, 'Paused');
    await a1.server.flush();
    await waitSeq(h, 1);
    const w = await watch(h);
    await a1.server.close();
    await waitUntil(() => w.messages.some((m) => m['type'] === 'host' && m['reachable'] === false));
    const down = await host(h);
    assert.equal(down.reachable, false);
    assert.equal(typeof down.lastHeardAgoMs, 'number');
    const act = await h.request('POST', '/v1/actions', {
      token: ADMIN.operator,
      body: JSON.stringify({ host: 'host-0', vm: 'web-1', action: 'domain.start', key: 'k-down' }),
    });
    assert.equal(act.status, 503);
    assert.equal(act.body['code'], 'VFT_ERR_COORD_UNREACHABLE');
    assert.equal(typeof act.body['lastHeardAt'], 'string');
    agent.transition(UUID_A, 'Running'); // no server: not journaled, only the status changes
    const a2 = await agentAt(t, port, agent, dir);
    await allReachable(h);
    agent.transition(UUID_A, 'Crashed');
    await a2.server.flush();
    await waitSeq(h, 2);
    assert.deepEqual(await seqs(h), [1, 2]);
    await waitUntil(() => w.messages.some((m) => m['type'] === 'event' && m['seq'] === 2));
    assert.ok(w.messages.some((m) => m['type'] === 'host' && m['reachable'] === true));
    w.ws.close();
  });

  it('takes a snapshot when the agent has a new journal (epoch), and stores under the new epoch', async (t) => {
    const port = await freePort();
    const agent = new FakeAgent();
    const dir = await tempDir(t);
    const a1 = await agentAt(t, port, agent, dir);
    const h = await startCoordinator(t, [a1]);
    await allReachable(h);
    agent.transition(UUID_A, 'Paused');
    await a1.server.flush();
    await waitSeq(h, 1);
    const oldEpoch = (await host(h)).epoch;
    await a1.server.close();
    await rm(join(dir, 'journal.jsonl'), { force: true });
    const a2 = await agentAt(t, port, agent, dir);
    const newEpoch = a2.server.stats().journal?.epoch;
    assert.notEqual(newEpoch, oldEpoch);
    await waitUntil(() =>
      h.logs.lines.some(
        (l) => l['msg'] === 'subscribed' && l['mode'] === 'snapshot' && l['epoch'] === newEpoch,
      ),
    );
    agent.transition(UUID_A, 'Running');
    await a2.server.flush();
    await waitUntil(() => h.coordinator.store.seqs('host-0', newEpoch ?? '').length === 1);
    assert.deepEqual(h.coordinator.store.seqs('host-0', oldEpoch ?? ''), [1]);
    assert.equal((await host(h)).epoch, newEpoch);
  });

  it('replays stored events to a watcher that passes after=ID, then goes on live', async (t) => {
    const a = await startServer(t);
    const h = await startCoordinator(t, [a], { config: {} });
    await allReachable(h);
    a.agent.transition(UUID_A, 'Paused');
    a.agent.transition(UUID_A, 'Running');
    await a.server.flush();
    await waitSeq(h, 2);
    const w = await watch(h, '?after=0&kind=domain');
    await waitUntil(() => w.messages.filter((m) => m['type'] === 'event').length === 2);
    a.agent.transition(UUID_A, 'Crashed');
    await waitUntil(() => w.messages.filter((m) => m['type'] === 'event').length === 3);
    assert.deepEqual(
      w.messages.filter((m) => m['type'] === 'event').map((m) => m['seq']),
      [1, 2, 3],
    );
    assert.equal(w.messages[0]?.['type'], 'hello');
    w.ws.close();
  });
});
