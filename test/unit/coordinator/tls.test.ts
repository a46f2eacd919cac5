// TLS both ways: the coordinator reaches an agent that wants a client certificate with its CA
// and certificate options (and not without them, nor with a wrong token: those stay
// unreachable with the reason), and serves its own API over TLS to the admin CLI's client.
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { request, resolveAdmin } from '../../../coordinator/admin-client.ts';
import { startServer, waitUntil } from '../stream/setup.ts';
import { ADMIN, startCoordinator } from './setup.ts';
import type { CoordHarness } from './setup.ts';

const DIR = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../..'),
  'test/unit/stream/fixtures/tls',
);
const file = (n: string) => join(DIR, n);

async function hosts(h: CoordHarness): Promise<Record<string, Record<string, unknown>>> {
  const r = await h.request('GET', '/v1/hosts');
  return Object.fromEntries(
    (r.body['hosts'] as Record<string, unknown>[]).map((x) => [String(x['host']), x]),
  );
}

describe('coordinator TLS', () => {
  it('reaches an mTLS agent with caFile + certFile/keyFile; not without them or with a wrong token', async (t) => {
    const tls = {
      certFile: file('server.pem'),
      keyFile: file('server.key'),
      clientCaFile: file('ca.pem'),
    };
    const a = await startServer(t, { config: { tls } });
    const token = 'b2'.repeat(32); // the operator token of the stream tests
    const h = await startCoordinator(t, [], {
      config: {
        agents: [
          {
            id: 'ok',
            url: a.url,
            token,
            caFile: file('ca.pem'),
            certFile: file('client.pem'),
            keyFile: file('client.key'),
          },
          { id: 'no-cert', url: a.url, token, caFile: file('ca.pem') },
          {
            id: 'untrusted',
            url: a.url,
            token,
            certFile: file('client.pem'),
            keyFile: file('client.key'),
          },
          {
            id: 'bad-token',
            url: a.url,
            token: 'z'.repeat(64),
            caFile: file('ca.pem'),
            certFile: file('client.pem'),
            keyFile: file('client.key'),
          },
        ],
      },
    });
    let view: Record<string, Record<string, unknown>> = {};
    await waitUntil(() => {
      void hosts(h).then((v) => (view = v));
      return (
        view['ok']?.['reachable'] === true &&
        ['no-cert', 'untrusted', 'bad-token'].every(
          (id) => typeof view[id]?.['lastError'] === 'string',
        )
      );
    });
    assert.equal(view['no-cert']?.['reachable'], false);
    assert.equal(view['untrusted']?.['reachable'], false);
    assert.match(String(view['untrusted']?.['lastError']), /certificate/i);
    assert.equal(view['bad-token']?.['reachable'], false);
    assert.match(String(view['bad-token']?.['lastError']), /401/);
  });

  it('serves the API over TLS to a client that trusts its CA', async (t) => {
    const h = await startCoordinator(t, [], {
      config: { api: { tls: { certFile: file('server.pem'), keyFile: file('server.key') } } },
    });
    assert.match(h.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const admin = resolveAdmin({ coordinator: h.url, token: ADMIN.viewer, ca: file('ca.pem') });
    const body = await request(admin, 'GET', '/v1/hosts');
    assert.deepEqual(body['hosts'], []);
    const untrusting = resolveAdmin({ coordinator: h.url, token: ADMIN.viewer });
    await assert.rejects(request(untrusting, 'GET', '/v1/hosts'), /cannot reach the coordinator/);
  });
});
