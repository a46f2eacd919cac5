import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isType } from '../../helpers/stream-client.ts';
import type { StreamClient } from '../../helpers/stream-client.ts';
import { startServer } from './setup.ts';

/** The fatal error the agent sent, and the close code. */
async function closedWith(c: StreamClient): Promise<{ code: number; error: string | null }> {
  const { code } = await c.closed;
  const err = c.messages.filter(isType('error')).find((e) => e.fatal);
  return { code, error: err?.code ?? null };
}

describe('stream: hostile frames and JSON', () => {
  it('closes an oversized frame with 1009 before reading it', async (t) => {
    const h = await startServer(t);
    const c = await h.connect();
    c.sendRaw(JSON.stringify({ v: 1, type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    assert.equal((await c.closed).code, 1009);
    assert.deepEqual(c.invalid, []);
  });

  it('closes malformed JSON with 1007 after an error saying so', async (t) => {
    const h = await startServer(t);
    const c = await h.connect();
    c.sendRaw('{"v":1,"type":"ping"');
    assert.deepEqual(await closedWith(c), { code: 1007, error: 'VFT_ERR_STREAM_BAD_JSON' });
  });

  it('closes nesting deeper than 8 with 1008, including a 10 KiB array 5,000 deep', async (t) => {
    const h = await startServer(t);
    const a = await h.connect();
    a.sendRaw(`{"v":1,"type":"ping","x":${'['.repeat(8)}${']'.repeat(8)}}`);
    assert.deepEqual(await closedWith(a), { code: 1008, error: 'VFT_ERR_STREAM_TOO_DEEP' });
    const b = await h.connect();
    b.sendRaw('['.repeat(5000) + ']'.repeat(5000));
    assert.deepEqual(await closedWith(b), { code: 1008, error: 'VFT_ERR_STREAM_TOO_DEEP' });
    // The audit path logged both without a RangeError.
    assert.equal(h.logs.audits().filter((l) => l['code'] === 'VFT_ERR_STREAM_TOO_DEEP').length, 2);
    assert.ok(!h.logs.raw.join('').includes('RangeError'));
  });

  it('closes __proto__, constructor and prototype keys with 1008, and pollutes nothing', async (t) => {
    const h = await startServer(t);
    const payloads = [
      '{"v":1,"type":"ping","__proto__":{"isAdmin":true}}',
      '{"v":1,"type":"command","id":"c1","key":"k","action":"policy.set","domain":{"uuid":"11111111-1111-4111-8111-111111111111"},"params":{"policy":{"__proto__":{"isAdmin":true}}}}',
      '{"v":1,"type":"ping","x":{"constructor":{"prototype":{"isAdmin":true}}}}',
      '{"v":1,"type":"ping","\\u005f_proto__":{"isAdmin":true}}',
    ];
    for (const p of payloads) {
      const c = await h.connect('admin');
      c.sendRaw(p);
      assert.deepEqual(
        await closedWith(c),
        { code: 1008, error: 'VFT_ERR_STREAM_FORBIDDEN_KEY' },
        p,
      );
    }
    assert.equal(({} as Record<string, unknown>)['isAdmin'], undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'isAdmin'), false);
    assert.deepEqual(h.agent.policies, []);
  });

  it('closes a binary frame with 1003 and a wrong version with 1002', async (t) => {
    const h = await startServer(t);
    const a = await h.connect();
    a.ws.send(Buffer.from('{"v":1,"type":"ping"}'));
    assert.deepEqual(await closedWith(a), { code: 1003, error: 'VFT_ERR_STREAM_BAD_MESSAGE' });
    const b = await h.connect();
    b.sendRaw({ v: 2, type: 'ping' });
    assert.deepEqual(await closedWith(b), { code: 1002, error: 'VFT_ERR_STREAM_VERSION' });
  });

  it('answers a JSON message that breaks the schema with an error and stays open', async (t) => {
    const h = await startServer(t);
    const c = await h.connect('operator');
    c.sendRaw({ v: 1, type: 'ping', id: 'p1', extra: true });
    c.sendRaw({ v: 1, type: 'teleport', id: 'p2' });
    c.sendRaw({
      v: 1,
      type: 'command',
      id: 'c3',
      key: 'k3',
      action: 'snapshot.create',
      domain: { uuid: 'not-a-uuid' },
    });
    c.sendRaw({
      v: 1,
      type: 'command',
      id: 'c4',
      key: 'k4',
      action: 'snapshot.create',
      domain: { uuid: '11111111-1111-4111-8111-111111111111' },
      params: { name: '../etc' },
    });
    c.sendRaw([1, 2, 3]);
    for (const ref of ['p1', 'p2', 'c3', 'c4']) {
      const e = await c.waitFor((m) => m.type === 'error' && m.ref === ref);
      assert.equal(e.type === 'error' && !e.fatal && e.code, 'VFT_ERR_STREAM_BAD_MESSAGE');
    }
    const closed = await closedWith(c); // the array is not an object: hostile, closed
    assert.deepEqual(closed, { code: 1008, error: 'VFT_ERR_STREAM_BAD_MESSAGE' });
    assert.equal(h.agent.calls.length, 0);
  });

  it('keeps serving other clients while one is closed for a hostile message', async (t) => {
    const h = await startServer(t);
    const good = await h.connect();
    const bad = await h.connect();
    bad.sendRaw('not json');
    await bad.closed;
    good.sendRaw({ v: 1, type: 'ping', id: 'still-here' });
    const pong = await good.waitFor(isType('pong'));
    assert.equal(pong.ref, 'still-here');
  });
});
