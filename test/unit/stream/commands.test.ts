import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResultMessage } from '../../../shared/protocol/index.ts';
import type { CommandInput } from '../../helpers/stream-client.ts';
import { UUID_A, UUID_B } from './fake-agent.ts';
import { ManualClock, startServer } from './setup.ts';

const snap = (
  id: string,
  key: string,
  uuid = UUID_A,
): Extract<CommandInput, { action: 'snapshot.create' }> => ({
  id,
  key,
  action: 'snapshot.create',
  domain: { uuid },
  params: { name: 'before-upgrade' },
});

function result(a: { answer: { type: string } }): ResultMessage {
  assert.equal(a.answer.type, 'result', JSON.stringify(a.answer));
  return a.answer as ResultMessage;
}

describe('stream commands', () => {
  it('acks, runs through the executor with a stream-scoped key, and returns the result', async (t) => {
    const h = await startServer(t);
    const c = await h.connect('operator');
    const r = await c.command(snap('c1', 'key-1'));
    assert.deepEqual(r.ack, {
      v: 1,
      type: 'ack',
      ref: 'c1',
      key: 'key-1',
      action: 'snapshot.create',
    });
    const res = result(r);
    assert.equal(res.ok && res.duplicate, false);
    assert.deepEqual(res.ok && res.result, { name: 'before-upgrade', n: 1 });
    const req = h.agent.runs[0];
    assert.equal(req?.idempotencyKey, 'stream/key-1');
    assert.equal(req?.origin, 'admin');
    assert.equal(req?.reason, 'stream command from operator-1');
    assert.deepEqual(req?.params, { name: 'before-upgrade' });
  });

  it('refuses a command from a viewer and policy.set from an operator, per message', async (t) => {
    const h = await startServer(t);
    const v = await h.connect('viewer');
    const a = await v.command(snap('c1', 'k1'));
    assert.equal(a.ack, null);
    assert.equal(a.answer.type === 'error' && a.answer.code, 'VFT_ERR_STREAM_FORBIDDEN');
    const o = await h.connect('operator');
    const b = await o.command({
      id: 'p1',
      key: 'k2',
      action: 'policy.set',
      domain: { uuid: UUID_A },
      params: { policy: { level: 'high' } },
    });
    assert.equal(b.answer.type === 'error' && b.answer.code, 'VFT_ERR_STREAM_FORBIDDEN');
    assert.equal(h.agent.calls.length + h.agent.policies.length, 0);
  });

  it('runs a replayed command once: repeats, on other connections and concurrent ones, get the first result as duplicate', async (t) => {
    const h = await startServer(t);
    let release: () => void = () => undefined;
    h.agent.hold = new Promise((r) => (release = r));
    const [a, b, c] = [
      await h.connect('operator'),
      await h.connect('operator'),
      await h.connect('operator'),
    ];
    const pending = [a, b, c].flatMap((cl, i) =>
      [0, 1, 2].map((j) => cl.command(snap(`c${i}${j}`, 'same-key'))),
    );
    await a.waitFor((m) => m.type === 'ack'); // the first one is running
    release();
    const results = (await Promise.all(pending)).map(result);
    assert.equal(h.agent.runs.length, 1, 'the executor ran it once');
    assert.equal(results.filter((r) => !r.duplicate).length, 1);
    assert.equal(results.filter((r) => r.duplicate).length, 8);
    for (const r of results) assert.deepEqual(r.ok && r.result, { name: 'before-upgrade', n: 1 });
    const later = result(await b.command(snap('late', 'same-key')));
    assert.ok(later.duplicate);
    assert.equal(h.agent.runs.length, 1);
  });

  it('refuses the same key with another payload (conflict) and runs nothing', async (t) => {
    const h = await startServer(t);
    const c = await h.connect('operator');
    result(await c.command(snap('c1', 'k')));
    const other = result(await c.command({ ...snap('c2', 'k'), params: { name: 'other' } }));
    assert.equal(!other.ok && other.error.code, 'VFT_ERR_ACTION_CONFLICT');
    assert.equal(h.agent.runs.length, 1);
  });

  it('policy.set: admin only, validated by the policy schema, exactly once per key across a restart', async (t) => {
    const h = await startServer(t);
    const c = await h.connect('admin');
    const cmd: CommandInput = {
      id: 'p1',
      key: 'pk',
      action: 'policy.set',
      domain: { uuid: UUID_A },
      params: { policy: { level: 'high' } },
    };
    const first = result(await c.command(cmd));
    assert.ok(first.ok && !first.duplicate);
    assert.equal(first.ok && (first.result as { policy: { level: string } }).policy.level, 'high');
    assert.ok(result(await c.command({ ...cmd, id: 'p2' })).duplicate);
    const bad = result(
      await c.command({ ...cmd, id: 'p3', key: 'pk2', params: { policy: { level: 'extreme' } } }),
    );
    assert.equal(!bad.ok && bad.error.code, 'VFT_ERR_ACTION_INVALID');
    const conflict = result(await c.command({ ...cmd, id: 'p4', params: { policy: null } }));
    assert.equal(!conflict.ok && conflict.error.code, 'VFT_ERR_ACTION_CONFLICT');
    assert.deepEqual(h.agent.policies, [{ uuid: UUID_A, override: { level: 'high' } }]);
    await h.server.close();
    // Same state directory and agent: the key survives the server's restart.
    const h2 = await startServer(t, { agent: h.agent, stateDir: h.stateDir });
    const c2 = await h2.connect('admin');
    const again = result(await c2.command({ ...cmd, id: 'p5' }));
    assert.ok(again.ok && again.duplicate);
    assert.equal(h.agent.policies.length, 1);
  });

  it('rate-limits a command flood (burst then refusals), then closes it with 1008; nothing crashes', async (t) => {
    const clock = new ManualClock();
    const h = await startServer(t, {
      clock: clock.fn,
      config: {
        limits: { destructiveCooldownMs: 0, messageBurst: 1000, maxConcurrentActions: 64 },
      },
    });
    const c = await h.connect('operator');
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        c.command({
          id: `f${i}`,
          key: `flood-${i}`,
          action: 'domain.start',
          domain: { uuid: UUID_A },
        }),
      ),
    );
    const limited = answers.filter(
      (a) => a.answer.type === 'error' && a.answer.code === 'VFT_ERR_STREAM_RATE_LIMITED',
    );
    assert.equal(
      answers.length - limited.length,
      20,
      'exactly the burst went through (the clock stood still)',
    );
    assert.ok(limited.every((a) => a.answer.type === 'error' && (a.answer.retryAfterMs ?? 0) > 0));
    assert.equal(h.agent.runs.length, 20);
    // Twice the allowed rate for 3 s: half passes, the refusals never pause: a flood.
    for (let step = 0; step <= 30 && c.ws.readyState === c.ws.OPEN; step++) {
      clock.advance(100);
      for (const k of ['a', 'b']) {
        const id = `s${step}${k}`;
        await c
          .command({ id, key: id, action: 'domain.start', domain: { uuid: UUID_A } })
          .catch(() => undefined);
      }
    }
    assert.equal((await c.closed).code, 1008);
    assert.equal(c.messages.filter((m) => m.type === 'error' && m.fatal).length, 1);
    const other = await h.connect('viewer');
    other.sendRaw({ v: 1, type: 'ping', id: 'alive' });
    await other.waitFor((m) => m.type === 'pong');
  });

  it('allows one destructive action per VM per cool-down; a duplicate or a refusal gives it back', async (t) => {
    const clock = new ManualClock();
    const h = await startServer(t, { clock: clock.fn });
    const c = await h.connect('operator');
    const restart = (id: string, key: string, uuid = UUID_A): CommandInput => ({
      id,
      key,
      action: 'domain.restart',
      domain: { uuid },
    });
    assert.ok(result(await c.command(restart('r1', 'k1'))).ok);
    const second = await c.command(restart('r2', 'k2'));
    assert.equal(
      second.answer.type === 'error' && second.answer.code,
      'VFT_ERR_STREAM_RATE_LIMITED',
    );
    assert.equal(second.answer.type === 'error' && second.answer.retryAfterMs, 30_000);
    assert.ok(result(await c.command(restart('r3', 'k3', UUID_B))).ok, 'another VM is not limited');
    assert.ok(result(await c.command(restart('r4', 'k1'))).duplicate, 'a repeat is never limited');
    assert.ok(
      result(
        await c.command({ id: 's1', key: 'k4', action: 'domain.start', domain: { uuid: UUID_A } }),
      ).ok,
      'start is not destructive',
    );
    clock.advance(30_000);
    assert.ok(result(await c.command(restart('r5', 'k5'))).ok);
    assert.equal(h.agent.runs.length, 4);
  });

  it('caps actions running at once on the host', async (t) => {
    const h = await startServer(t, {
      config: { limits: { maxConcurrentActions: 2, destructiveCooldownMs: 0 } },
    });
    let release: () => void = () => undefined;
    h.agent.hold = new Promise((r) => (release = r));
    const c = await h.connect('operator');
    const running = [c.command(snap('a', 'ka')), c.command(snap('b', 'kb', UUID_B))];
    await c.waitFor((m) => m.type === 'ack' && m.ref === 'b');
    const third = await c.command(snap('c', 'kc'));
    assert.equal(third.answer.type === 'error' && third.answer.code, 'VFT_ERR_STREAM_RATE_LIMITED');
    release();
    for (const r of await Promise.all(running)) assert.ok(result(r).ok);
    assert.equal(h.server.stats().runningActions, 0);
  });

  it('audits every command exactly once with who, what and the outcome, and never a token or payload', async (t) => {
    const clock = new ManualClock();
    const h = await startServer(t, { clock: clock.fn });
    const op = await h.connect('operator');
    const viewer = await h.connect('viewer');
    await op.command(snap('a1', 'ka')); // accepted
    await op.command(snap('a2', 'ka')); // duplicate
    await op.command(snap('a3', 'kb')); // rate-limited (cool-down)
    await viewer.command(snap('a4', 'kc')); // forbidden
    const lines = h.logs.audits();
    assert.deepEqual(
      lines.map((l) => [
        l['cmdId'],
        l['principal'],
        l['action'],
        l['decision'],
        l['result'] ?? null,
        l['code'] ?? null,
      ]),
      [
        ['a1', 'operator-1', 'snapshot.create', 'accepted', 'ok', null],
        ['a2', 'operator-1', 'snapshot.create', 'duplicate', 'ok', null],
        [
          'a3',
          'operator-1',
          'snapshot.create',
          'rate-limited',
          null,
          'VFT_ERR_STREAM_RATE_LIMITED',
        ],
        ['a4', 'viewer-1', 'snapshot.create', 'forbidden', null, 'VFT_ERR_STREAM_FORBIDDEN'],
      ],
    );
    for (const l of lines) {
      assert.equal(l['domainUuid'], UUID_A);
      assert.equal(l['remote'], '127.0.0.1');
      assert.ok(
        !('params' in l) && !JSON.stringify(l).includes('before-upgrade'),
        'no payload in the audit',
      );
    }
  });

  it('limits refusal audit lines per principal and counts the rest', async (t) => {
    const clock = new ManualClock();
    const h = await startServer(t, { clock: clock.fn, config: { limits: { messageBurst: 1000 } } });
    const v = await h.connect('viewer');
    await Promise.all(Array.from({ length: 30 }, (_, i) => v.command(snap(`x${i}`, `k${i}`))));
    assert.equal(h.logs.audits().length, 10);
    assert.equal(h.server.stats().auditSuppressed, 20);
    clock.advance(1_000);
    await v.command(snap('y', 'ky'));
    assert.equal(h.logs.audits().at(-1)?.['suppressed'], 20);
  });
});
