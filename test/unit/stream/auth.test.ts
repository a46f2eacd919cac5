import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { bearerToken, TokenTable, tokenHash } from '../../../agent/stream/auth.ts';
import { SUBPROTOCOL } from '../../../shared/protocol/index.ts';
import { StreamClient, tryUpgrade, UpgradeRefused } from '../../helpers/stream-client.ts';
import { startServer, TOKENS, tokenEntries } from './setup.ts';

/** Refused with this status and code, and no WebSocket was ever made. */
async function refused(
  h: Awaited<ReturnType<typeof startServer>>,
  o: Parameters<typeof tryUpgrade>[1],
  status: number,
  code: string,
): Promise<void> {
  const connected = () => h.logs.lines.filter((l) => l['msg'] === 'stream client connected').length;
  const before = { open: h.server.stats().connections, ever: connected() };
  const r = await tryUpgrade(h.url, o);
  assert.ok(r instanceof UpgradeRefused, `expected a refusal, the upgrade succeeded`);
  assert.equal(r.status, status, r.body);
  assert.equal((JSON.parse(r.body) as { code: string }).code, code);
  // No WebSocket was made for it: no new connection, now or ever.
  assert.deepEqual({ open: h.server.stats().connections, ever: connected() }, before);
}

describe('stream authentication (before the upgrade)', () => {
  it('refuses a request without a token with 401 and WWW-Authenticate', async (t) => {
    const h = await startServer(t);
    await refused(h, {}, 401, 'VFT_ERR_STREAM_AUTH');
    const res = await new Promise<{ status: number; auth: string | undefined }>(
      (resolve, reject) => {
        const req = request(h.url.replace('ws:', 'http:'), {
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          },
        });
        req.on('response', (r) => {
          resolve({ status: r.statusCode ?? 0, auth: r.headers['www-authenticate'] });
        });
        req.on('upgrade', () => {
          reject(new Error('upgraded'));
        });
        req.on('error', reject);
        req.end();
      },
    );
    assert.deepEqual(res, { status: 401, auth: 'Bearer realm="virt-ft"' });
  });

  it('refuses a wrong token, a wrong-length token and an expired one with 401', async (t) => {
    const h = await startServer(t);
    await refused(h, { token: 'e5'.repeat(32) }, 401, 'VFT_ERR_STREAM_AUTH');
    await refused(h, { token: 'short' }, 401, 'VFT_ERR_STREAM_AUTH');
    await refused(h, { token: `${TOKENS.admin}x` }, 401, 'VFT_ERR_STREAM_AUTH');
    await refused(h, { token: 'x'.repeat(5000) }, 401, 'VFT_ERR_STREAM_AUTH');
    await refused(h, { token: TOKENS.expired }, 401, 'VFT_ERR_STREAM_AUTH');
  });

  it('refuses a token below the requested role with 403, and accepts one at or above it', async (t) => {
    const h = await startServer(t);
    await refused(h, { token: TOKENS.viewer, role: 'operator' }, 403, 'VFT_ERR_STREAM_FORBIDDEN');
    await refused(h, { token: TOKENS.operator, role: 'admin' }, 403, 'VFT_ERR_STREAM_FORBIDDEN');
    assert.equal(await tryUpgrade(h.url, { token: TOKENS.admin, role: 'operator' }), 'open');
    const c = await h.connect('operator', { role: 'operator' });
    const hello = await c.hello();
    assert.deepEqual(hello.principal, { id: 'operator-1', role: 'operator' });
    assert.ok(!hello.actions.includes('policy.set'));
    assert.ok(hello.actions.includes('snapshot.create'));
  });

  it('refuses a foreign Origin with 403 and accepts an allowed one', async (t) => {
    const h = await startServer(t, { config: { allowedOrigins: ['https://console.example'] } });
    await refused(
      h,
      { token: TOKENS.viewer, origin: 'https://evil.example' },
      403,
      'VFT_ERR_STREAM_ORIGIN',
    );
    assert.equal(
      await tryUpgrade(h.url, { token: TOKENS.viewer, origin: 'https://console.example' }),
      'open',
    );
  });

  it('refuses an unknown subprotocol, a wrong path and a query string', async (t) => {
    const h = await startServer(t);
    await refused(
      h,
      { token: TOKENS.viewer, protocols: ['virt-ft.v0'] },
      400,
      'VFT_ERR_STREAM_VERSION',
    );
    const bad = await tryUpgrade(`${h.url}?token=${TOKENS.viewer}`, { token: TOKENS.viewer });
    assert.ok(bad instanceof UpgradeRefused && bad.status === 404);
    const c = await StreamClient.connect(h.url, {
      token: TOKENS.viewer,
      protocols: ['other', SUBPROTOCOL],
    });
    assert.equal(c.ws.protocol, SUBPROTOCOL);
    await c.close();
  });

  it('answers 503 past maxConnections and 429 past the handshake rate', async (t) => {
    const h = await startServer(t, { config: { maxConnections: 2 } });
    await h.connect();
    await h.connect();
    await refused(h, { token: TOKENS.viewer }, 503, 'VFT_ERR_STREAM_OVERLOADED');
    assert.equal(h.server.stats().connections, 2);
    const r = await startServer(t, {
      config: { limits: { handshakesPerSecPerIp: 0.01, handshakeBurst: 2 } },
    });
    assert.equal(await tryUpgrade(r.url, { token: TOKENS.viewer }), 'open');
    assert.equal(await tryUpgrade(r.url, { token: TOKENS.viewer }), 'open');
    const third = await tryUpgrade(r.url, { token: TOKENS.viewer });
    assert.ok(third instanceof UpgradeRefused && third.status === 429, String(third));
  });

  it('never logs a token, and audits each refused handshake with the principal or address', async (t) => {
    const h = await startServer(t);
    await tryUpgrade(h.url, { token: TOKENS.viewer, role: 'admin' });
    await tryUpgrade(h.url, { token: 'f6'.repeat(32) });
    const c = await h.connect('admin');
    await c.hello();
    const all = h.logs.raw.join('');
    for (const tok of [...Object.values(TOKENS), 'f6'.repeat(32)])
      assert.ok(!all.includes(tok), 'a token was logged');
    const refusals = h.logs.audits('stream.handshake');
    assert.deepEqual(
      refusals.map((l) => [l['principal'], l['code']]),
      [
        ['viewer-1', 'VFT_ERR_STREAM_FORBIDDEN'],
        ['ip:127.0.0.1', 'VFT_ERR_STREAM_AUTH'],
      ],
    );
  });
});

describe('token table', () => {
  it('matches by hash only, and reports expiry', () => {
    const table = new TokenTable([
      ...tokenEntries().map((e) => ({ ...e, role: e.role ?? 'viewer' }) as never),
    ]);
    assert.deepEqual(table.verify(TOKENS.operator), {
      ok: true,
      id: 'operator-1',
      role: 'operator',
    });
    assert.deepEqual(table.verify(TOKENS.expired), { ok: false, expired: true });
    assert.deepEqual(table.verify(''), { ok: false, expired: false });
    assert.equal(
      tokenHash('abc'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('reads only well-formed Bearer headers', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer abc'), 'abc');
    assert.equal(bearerToken('Basic abc'), null);
    assert.equal(bearerToken('Bearer a b'), null);
    assert.equal(bearerToken(undefined), null);
    assert.equal(bearerToken(`Bearer ${'x'.repeat(5000)}`), null);
  });
});
