import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { StreamClient, UpgradeRefused } from '../../helpers/stream-client.ts';
import { startServer, TOKENS } from './setup.ts';

// The fixtures stay in the source tree (tsc does not copy them): dist/test/unit/stream → test/unit/stream.
const DIR = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../..'),
  'test/unit/stream/fixtures/tls',
);
const file = (n: string) => join(DIR, n);
const pem = (n: string) => readFileSync(file(n));

async function refusedAtTls(
  url: string,
  o: Parameters<typeof StreamClient.connect>[1],
): Promise<void> {
  await assert.rejects(StreamClient.connect(url, o), (err: unknown) => {
    assert.ok(err instanceof Error && !(err instanceof UpgradeRefused), String(err));
    return true;
  });
}

describe('stream over TLS', () => {
  const tls = { certFile: file('server.pem'), keyFile: file('server.key') };

  it('serves wss with a token and no client certificate when no client CA is set', async (t) => {
    const h = await startServer(t, { config: { tls } });
    assert.match(h.url, /^wss:\/\/127\.0\.0\.1:\d+\/v1\/stream$/);
    const c = await StreamClient.connect(h.url, { token: TOKENS.viewer, ca: pem('ca.pem') });
    assert.equal((await c.hello()).principal.id, 'viewer-1');
    await c.close();
    const r = await StreamClient.connect(h.url, { ca: pem('ca.pem') }).catch((e: unknown) => e);
    assert.ok(r instanceof UpgradeRefused && r.status === 401, 'TLS does not replace the token');
  });

  it('with a client CA: accepts its certificates, logs their fingerprint, refuses none or another CA at the handshake', async (t) => {
    const h = await startServer(t, { config: { tls: { ...tls, clientCaFile: file('ca.pem') } } });
    const ok = await StreamClient.connect(h.url, {
      token: TOKENS.operator,
      ca: pem('ca.pem'),
      cert: pem('client.pem'),
      key: pem('client.key'),
    });
    await ok.hello();
    const line = await h.logs.waitFor((l) => l['msg'] === 'stream client connected');
    assert.equal(line['certFingerprint'], new X509Certificate(pem('client.pem')).fingerprint256);
    await ok.close();
    await refusedAtTls(h.url, { token: TOKENS.operator, ca: pem('ca.pem') });
    await refusedAtTls(h.url, {
      token: TOKENS.operator,
      ca: pem('ca.pem'),
      cert: pem('rogue.pem'),
      key: pem('rogue.key'),
    });
    assert.equal(h.logs.lines.filter((l) => l['msg'] === 'stream client connected').length, 1);
  });
});
