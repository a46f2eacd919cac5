// Security at the coordinator's admin API (reliability.md S2, S5, S6, S7): no token, a wrong
// token, the wrong role, an oversized frame or body, malformed JSON, deep nesting, __proto__
// keys, a replayed command and a command flood each get a clear refusal; nothing crashes,
// nothing runs twice (the fake agent counts what really ran).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { UUID_A } from '../stream/fake-agent.ts';
import { startServer } from '../stream/setup.ts';
import { ADMIN, allReachable, startCoordinator, watch } from './setup.ts';

const snap = (key: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    host: 'host-0',
    vm: 'web-1',
    action: 'snapshot.create',
    key,
    params: { name: 'n1' },
    ...extra,
  });

async function setup(t: TestContext) {
  const agent = await startServer(t, {
    config: { limits: { destructiveCooldownMs: 0, commandsPerSec: 1000, commandBurst: 1000 } },
  });
  const h = await startCoordinator(t, [agent]);
  await allReachable(h);
  return { agent, h };
}

async function stillServes(h: Awaited<ReturnType<typeof setup>>['h']): Promise<void> {
  const r = await h.request('GET', '/v1/health');
  assert.equal(r.status, 200);
}

describe('coordinator API security', () => {
  it('refuses a request without a token, with a wrong token, or with an expired-looking one (401)', async (t) => {
    const { agent, h } = await setup(t);
    for (const token of [null, 'x'.repeat(64), `${ADMIN.viewer}0`]) {
      const get = await h.request('GET', '/v1/hosts', { token });
      assert.equal(get.status, 401);
      assert.equal(get.body['code'], 'VFT_ERR_COORD_AUTH');
      const post = await h.request('POST', '/v1/actions', {
        token,
        body: snap(`k-${String(token).slice(0, 4)}`),
      });
      assert.equal(post.status, 401);
      await assert.rejects(watch(h, '', token), /HTTP 401/);
    }
    const malformed = await h.request('GET', '/v1/hosts', {
      token: null,
      headers: { authorization: 'Basic abc' },
    });
    assert.equal(malformed.status, 401);
    assert.equal(agent.agent.calls.length, 0);
    await stillServes(h);
  });

  it('refuses the wrong role: a viewer acting, an operator setting a policy (403)', async (t) => {
    const { agent, h } = await setup(t);
    const viewer = await h.request('POST', '/v1/actions', {
      token: ADMIN.viewer,
      body: snap('k1'),
    });
    assert.equal(viewer.status, 403);
    assert.equal(viewer.body['code'], 'VFT_ERR_COORD_FORBIDDEN');
    const policy = JSON.stringify({
      host: 'host-0',
      vm: 'web-1',
      action: 'policy.set',
      key: 'p1',
      params: { policy: null },
    });
    const op = await h.request('POST', '/v1/actions', { token: ADMIN.operator, body: policy });
    assert.equal(op.status, 403);
    assert.match(String(op.body['message']), /admin/);
    assert.equal(agent.agent.calls.length + agent.agent.policies.length, 0);
    const foreign = await h.request('GET', '/v1/hosts', {
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(foreign.status, 403);
  });

  it('refuses hostile bodies: oversized (413), not JSON, too deep, __proto__ keys, not an object (400)', async (t) => {
    const { agent, h } = await setup(t);
    const post = (body: string) =>
      h.request('POST', '/v1/actions', { token: ADMIN.operator, body });
    const big = await post(snap('k', { reason: 'x'.repeat(70 * 1024) }));
    assert.equal(big.status, 413);
    assert.equal(big.body['code'], 'VFT_ERR_STREAM_TOO_LARGE');
    const bad = await post('{"host": "host-0",');
    assert.equal(bad.status, 400);
    assert.equal(bad.body['code'], 'VFT_ERR_STREAM_BAD_JSON');
    const deep = await post(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    assert.equal(deep.status, 400);
    assert.equal(deep.body['code'], 'VFT_ERR_STREAM_TOO_DEEP');
    const proto = await post(
      '{"host":"host-0","vm":"web-1","action":"snapshot.create","key":"k","params":{"__proto__":{"isAdmin":true}}}',
    );
    assert.equal(proto.status, 400);
    assert.equal(proto.body['code'], 'VFT_ERR_STREAM_FORBIDDEN_KEY');
    assert.equal(({} as Record<string, unknown>)['isAdmin'], undefined);
    const arr = await post('[1,2]');
    assert.equal(arr.status, 400);
    const extra = await post(snap('k', { shell: 'rm -rf /' }));
    assert.equal(extra.status, 400);
    assert.equal(extra.body['code'], 'VFT_ERR_COORD_BAD_REQUEST');
    const badName = await post(snap('k', { params: { name: '../../etc' } }));
    assert.equal(badName.status, 400);
    const query = await h.request('GET', '/v1/events?limit=99999');
    assert.equal(query.status, 400);
    const unknown = await h.request('GET', '/v1/events?hosts=x');
    assert.equal(unknown.status, 400);
    assert.equal(agent.agent.calls.length, 0);
    await stillServes(h);
  });

  it('closes a live tail that sends an oversized frame (1009), not JSON (1007), deep or __proto__ JSON (1008)', async (t) => {
    const { h } = await setup(t);
    const cases: [string, number][] = [
      ['x'.repeat(70 * 1024), 1009],
      ['{"type":', 1007],
      [`${'['.repeat(100)}${']'.repeat(100)}`, 1008],
      ['{"type":"ping","__proto__":{"x":1}}', 1008],
    ];
    for (const [frame, code] of cases) {
      const w = await watch(h);
      w.ws.send(frame);
      assert.equal(await w.closed, code, frame.slice(0, 20));
    }
    const ok = await watch(h);
    ok.ws.send('{"type":"ping","id":"p1"}');
    ok.ws.send('{"type":"subscribe"}');
    await new Promise<void>((r) => {
      const poll = (): void => {
        if (ok.messages.length >= 3) r();
        else setTimeout(poll, 5);
      };
      poll();
    });
    assert.deepEqual(
      ok.messages.map((m) => m['type']),
      ['hello', 'pong', 'error'],
    );
    assert.equal(ok.ws.readyState, WebSocket.OPEN);
    ok.ws.close();
    await stillServes(h);
  });

  it('runs a replayed command once: the same key again gets the first result, duplicate', async (t) => {
    const { agent, h } = await setup(t);
    const first = await h.request('POST', '/v1/actions', {
      token: ADMIN.operator,
      body: snap('replay-1'),
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body['ok'], true);
    assert.equal(first.body['duplicate'], false);
    const again = await Promise.all(
      [1, 2, 3].map(() =>
        h.request('POST', '/v1/actions', { token: ADMIN.operator, body: snap('replay-1') }),
      ),
    );
    for (const r of again) {
      assert.equal(r.status, 200);
      assert.equal(r.body['duplicate'], true);
      assert.deepEqual(r.body['result'], first.body['result']);
    }
    assert.equal(agent.agent.runs.length, 1);
    assert.equal(agent.agent.runs[0]?.domain.uuid, UUID_A);
    const conflict = await h.request('POST', '/v1/actions', {
      token: ADMIN.operator,
      body: snap('replay-1', { params: { name: 'other' } }),
    });
    assert.equal(conflict.body['ok'], false);
    assert.equal((conflict.body['error'] as { code: string }).code, 'VFT_ERR_ACTION_CONFLICT');
    assert.equal(agent.agent.runs.length, 1);
  });

  it('limits a command flood per token (429 with retryAfterMs) and runs each accepted one once', async (t) => {
    const { agent, h } = await setup(t);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        h.request('POST', '/v1/actions', {
          token: ADMIN.operator,
          body: snap(`flood-${i}`, { params: { name: `f${i}` } }),
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    assert.equal(ok.length + limited.length, 60);
    assert.ok(ok.length >= 1 && ok.length <= 11, `${ok.length} accepted`);
    for (const r of limited) {
      assert.equal(r.body['code'], 'VFT_ERR_COORD_RATE_LIMITED');
      assert.equal(typeof r.body['retryAfterMs'], 'number');
    }
    assert.equal(agent.agent.runs.length, ok.length);
    assert.equal(new Set(agent.agent.runs.map((r) => r.idempotencyKey)).size, ok.length);
    await stillServes(h);
  });
});
