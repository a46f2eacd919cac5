import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventMessage } from '../../../shared/protocol/index.ts';
import { isType } from '../../helpers/stream-client.ts';
import type { StreamClient } from '../../helpers/stream-client.ts';
import { UUID_A, UUID_B } from './fake-agent.ts';
import type { FakeAgent } from './fake-agent.ts';
import { startServer } from './setup.ts';

/** Fires `n` transitions, alternating two VMs and two states. */
function fire(agent: FakeAgent, n: number): void {
  for (let i = 0; i < n; i++)
    agent.transition(i % 2 ? UUID_B : UUID_A, i % 4 < 2 ? 'Paused' : 'Running');
}

/** Waits until the client has the event with seq `seq`. */
async function until(c: StreamClient, seq: number): Promise<void> {
  await c.waitFor((m) => m.type === 'event' && m.seq === seq);
}

const seqs = (c: StreamClient): number[] => c.events().map((e) => e.seq);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('stream subscribe and resume', () => {
  it('sends hello, then on subscribe a snapshot, subscribed, and live events with dense seqs', async (t) => {
    const h = await startServer(t);
    fire(h.agent, 3);
    await h.server.flush();
    const c = await h.connect();
    const hello = await c.hello();
    c.subscribe();
    const snap = await c.waitFor(isType('snapshot'));
    assert.equal(snap.epoch, hello.epoch);
    assert.equal(snap.status.domains.length, 2);
    const sub = await c.waitFor(isType('subscribed'));
    assert.deepEqual([sub.mode, sub.seq], ['snapshot', snap.seq]);
    fire(h.agent, 4);
    await until(c, snap.seq + 4);
    assert.deepEqual(seqs(c), range(snap.seq + 1, snap.seq + 4));
    assert.deepEqual(c.types().split(',').slice(0, 3), ['hello', 'snapshot', 'subscribed']);
    assert.deepEqual(c.invalid, []);
  });

  it('carries each kind of event: domain, decision (decided and finished), session', async (t) => {
    const h = await startServer(t);
    const c = await h.connect();
    c.subscribe();
    await c.waitFor(isType('subscribed'));
    h.agent.transition(UUID_A, 'Crashed');
    h.agent.decision();
    h.agent.decision({ outcome: { ok: true, at: Date.now(), message: 'restarted' } });
    h.agent.session('disconnected');
    await until(c, 4);
    const [d, dec1, dec2, s] = c.events() as [
      EventMessage,
      EventMessage,
      EventMessage,
      EventMessage,
    ];
    assert.equal(d.kind === 'domain' && d.to?.state, 'Crashed');
    assert.equal(dec1.kind === 'decision' && dec1.phase, 'decided');
    assert.equal(dec2.kind === 'decision' && dec2.outcome?.message, 'restarted');
    assert.equal(s.kind === 'session' && s.state, 'disconnected');
  });

  it('resumes from a seq with exactly the missed events, then live ones, no duplicates', async (t) => {
    const h = await startServer(t);
    const a = await h.connect();
    const hello = await a.hello();
    a.subscribe();
    await a.waitFor(isType('subscribed'));
    fire(h.agent, 10);
    await until(a, 10);
    await a.close();
    fire(h.agent, 5); // 11..15 happen while it is away
    await h.server.flush();
    const b = await h.connect();
    b.subscribe({ fromSeq: 7, epoch: hello.epoch });
    const sub = await b.waitFor(isType('subscribed'));
    assert.deepEqual([sub.mode, sub.seq, sub.replayed], ['resume', 15, 8]);
    fire(h.agent, 2);
    await until(b, 17);
    assert.deepEqual(seqs(b), range(8, 17));
    assert.equal(b.messages.filter((m) => m.type === 'snapshot' || m.type === 'gap').length, 0);
  });

  it('resumes after a server restart from the journal on disk, and seqs go on from there', async (t) => {
    const h = await startServer(t);
    const a = await h.connect();
    const hello = await a.hello();
    a.subscribe();
    await a.waitFor(isType('subscribed'));
    fire(h.agent, 6);
    await until(a, 6);
    await h.server.close();
    const h2 = await startServer(t, { agent: h.agent, stateDir: h.stateDir });
    const b = await h2.connect();
    const hello2 = await b.hello();
    assert.deepEqual([hello2.epoch, hello2.seq], [hello.epoch, 6]);
    b.subscribe({ fromSeq: 3, epoch: hello.epoch });
    await b.waitFor(isType('subscribed'));
    fire(h.agent, 2);
    await until(b, 8);
    assert.deepEqual(seqs(b), [4, 5, 6, 7, 8]);
    const uuids = b.events().map((e) => (e.kind === 'domain' ? e.uuid : ''));
    assert.deepEqual(uuids, [UUID_B, UUID_A, UUID_B, UUID_A, UUID_B]);
  });

  it('answers a resume the journal no longer covers with a gap and a snapshot', async (t) => {
    const h = await startServer(t, { config: { journal: { maxEvents: 16 } } });
    const hello = await (await h.connect()).hello();
    fire(h.agent, 40);
    await h.server.flush();
    assert.ok(
      (h.server.stats().journal?.base ?? 0) > 2,
      'compacted: the events after seq 2 are not all kept',
    );
    const c = await h.connect();
    c.subscribe({ fromSeq: 2, epoch: hello.epoch });
    const gap = await c.waitFor(isType('gap'));
    const snap = await c.waitFor(isType('snapshot'));
    assert.deepEqual([gap.reason, gap.from, gap.to, snap.seq], ['journal', 3, 40, 40]);
    assert.deepEqual(c.types().split(',').slice(1, 4), ['gap', 'snapshot', 'subscribed']);
  });

  it('answers another epoch, or a seq never sent, with a gap and a snapshot', async (t) => {
    const h = await startServer(t);
    fire(h.agent, 2);
    await h.server.flush();
    const a = await h.connect();
    const hello = await a.hello();
    a.subscribe({ fromSeq: 1, epoch: 'another-epoch' });
    const g1 = await a.waitFor(isType('gap'));
    assert.deepEqual([g1.reason, g1.from], ['epoch', null]);
    await a.waitFor(isType('snapshot'));
    const b = await h.connect();
    b.subscribe({ fromSeq: 1000, epoch: hello.epoch });
    const g2 = await b.waitFor(isType('gap'));
    assert.equal(g2.reason, 'ahead');
    await b.waitFor(isType('snapshot'));
  });

  it('refuses a second subscribe on one connection, and fromSeq without epoch', async (t) => {
    const h = await startServer(t);
    const c = await h.connect();
    c.subscribe();
    await c.waitFor(isType('subscribed'));
    c.sendRaw({ v: 1, type: 'subscribe', id: 's2' });
    const e = await c.waitFor((m) => m.type === 'error' && m.ref === 's2');
    assert.equal(e.type === 'error' && e.code, 'VFT_ERR_STREAM_STATE');
    c.sendRaw({ v: 1, type: 'subscribe', id: 's3', fromSeq: 1 });
    const e2 = await c.waitFor((m) => m.type === 'error' && m.ref === 's3');
    assert.equal(e2.type === 'error' && e2.code, 'VFT_ERR_STREAM_BAD_MESSAGE');
  });

  it('sends stats deltas to subscribers that want them', async (t) => {
    const h = await startServer(t, { config: { statsIntervalMs: 20 } });
    const yes = await h.connect();
    const no = await h.connect();
    yes.subscribe();
    no.subscribe({ stats: false });
    await no.waitFor(isType('subscribed'));
    h.agent.domains.set(UUID_A, {
      ...h.agent.domains.get(UUID_A)!,
      stats: { 'cpu.time': 5n, 'balloon.current': 1024 },
    });
    const s = await yes.waitFor(
      (m) => m.type === 'stats' && m.domains.some((d) => d.uuid === UUID_A),
    );
    assert.deepEqual(s.type === 'stats' && s.domains.find((d) => d.uuid === UUID_A)?.values, {
      'cpu.time': 5,
      'balloon.current': 1024,
    });
    no.sendRaw({ v: 1, type: 'ping', id: 'p' });
    await no.waitFor(isType('pong'));
    assert.equal(no.messages.filter((m) => m.type === 'stats').length, 0);
  });
});
