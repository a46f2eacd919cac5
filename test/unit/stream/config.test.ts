import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Agent } from '../../../agent/agent.ts';
import { AgentConfigSchema } from '../../../agent/config/schema.ts';
import { parseListen, StreamConfigSchema } from '../../../agent/stream/config.ts';
import { httpOptions, wsOptions } from '../../../agent/stream/listener.ts';
import type { StreamAgent } from '../../../agent/stream/port.ts';
import { StreamServer } from '../../../agent/stream/server.ts';
import { SUBPROTOCOL } from '../../../shared/protocol/index.ts';
import { LogCapture, startServer, streamConfig, tempDir, tokenEntries, TOKENS } from './setup.ts';

// Compile-time: the real agent fits the stream's port (this line fails the build if it drifts).
export const agentFits = (a: Agent): StreamAgent => a;

function problems(input: unknown): string[] {
  const r = StreamConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('stream config', () => {
  it('is off by default in the agent config', async (t) => {
    const c = AgentConfigSchema.parse({});
    assert.equal(c.stream.listen, null);
    assert.equal(c.stream.maxPayloadBytes, 64 * 1024);
    const logs = new LogCapture();
    const s = new StreamServer({
      agent: {} as StreamAgent,
      config: c.stream,
      stateDir: await tempDir(t),
      log: logs.logger,
    });
    await s.start();
    assert.equal(s.url, null);
    await s.close();
  });

  it('never listens on every interface unless told to', () => {
    const tokens = tokenEntries();
    for (const listen of ['0.0.0.0:7443', '[::]:7443', '[0:0:0:0:0:0:0:0]:7443'])
      assert.match(problems({ listen, tokens })[0] ?? '', /every interface/, listen);
    const tls = { certFile: '/x', keyFile: '/y' };
    assert.deepEqual(problems({ listen: '0.0.0.0:7443', tokens, tls, allowAnyAddress: true }), []);
  });

  it('needs TLS off loopback (or allowPlaintext), and at least one token', () => {
    const tokens = tokenEntries();
    assert.match(problems({ listen: '10.0.0.5:7443', tokens }).join(), /needs tls/);
    assert.deepEqual(problems({ listen: '10.0.0.5:7443', tokens, allowPlaintext: true }), []);
    assert.deepEqual(problems({ listen: '[::1]:7443', tokens }), []);
    assert.match(problems({ listen: '127.0.0.1:7443' }).join(), /at least one token/);
  });

  it('parses listen addresses and refuses host names and bad ports', () => {
    assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListen('[::1]:7443'), { host: '::1', port: 7443 });
    assert.deepEqual(parseListen('localhost:7443'), { host: 'localhost', port: 7443 });
    assert.equal(typeof parseListen('example.com:7443'), 'string');
    assert.equal(typeof parseListen('127.0.0.1:70000'), 'string');
    assert.equal(typeof parseListen('127.0.0.1'), 'string');
    assert.equal(typeof parseListen('::1:7443'), 'string');
  });

  it('stores tokens only as SHA-256 hex', () => {
    assert.match(
      problems({
        listen: '127.0.0.1:1',
        tokens: [{ id: 'x', role: 'admin', sha256: TOKENS.admin.slice(0, 10) }],
      }).join(),
      /64 lower-case hex/,
    );
  });
});

describe('stream hardening (reliability.md §2.2)', () => {
  it('uses the hardened ws and HTTP options; compression can never be switched on', () => {
    const c = streamConfig();
    const ws = wsOptions(c);
    assert.equal(ws.perMessageDeflate, false);
    assert.equal(ws.noServer, true);
    assert.equal(ws.maxPayload, 64 * 1024);
    assert.deepEqual(
      [ws.maxFragments, ws.maxBufferedChunks, ws.maxPendingAutoPongs, ws.closeTimeout],
      [64, 1024, 8, 2_000],
    );
    assert.equal(ws.skipUTF8Validation, false);
    const http = httpOptions(StreamConfigSchema.parse({}));
    assert.deepEqual(
      [
        http.headersTimeout,
        http.requestTimeout,
        http.maxHeaderSize,
        http.connectionsCheckingInterval,
      ],
      [5_000, 10_000, 8 * 1024, 1_000],
    );
    assert.ok(!('perMessageDeflate' in StreamConfigSchema.shape), 'no config key for compression');
  });

  it('answers a client offering permessage-deflate without the extension', async (t) => {
    const h = await startServer(t);
    const ws = new WebSocket(h.url, [SUBPROTOCOL], {
      headers: { authorization: `Bearer ${TOKENS.viewer}` },
      perMessageDeflate: true,
    });
    const ext = await new Promise<string | undefined>((resolve, reject) => {
      ws.once('upgrade', (res) => {
        resolve(res.headers['sec-websocket-extensions']);
      });
      ws.once('error', reject);
    });
    assert.equal(ext, undefined);
    assert.equal(ws.extensions, '');
    ws.terminate();
  });

  it('answers a plain HTTP request with 426', async (t) => {
    const h = await startServer(t);
    const res = await fetch(h.url.replace('ws:', 'http:'));
    assert.equal(res.status, 426);
    assert.equal(((await res.json()) as { code: string }).code, 'VFT_ERR_STREAM_BAD_MESSAGE');
  });
});
