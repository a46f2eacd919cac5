/**
 * TCP and TLS transports against the real libvirtd, through relays this test starts on
 * 127.0.0.1 port 0: a TCP relay that pipes to the daemon's UNIX socket, and a TLS relay
 * (our own CA, server and client certificates, made with openssl at test time) that sends
 * libvirt's one-byte verdict and then pipes. The daemon sees a local root client, so no
 * daemon configuration is needed; `test:///default` is the daemon's in-memory test driver.
 *
 * Needs: libvirtd on /var/run/libvirt/libvirt-sock, and the `openssl` binary.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

import { LibvirtClient } from '../../../agent/libvirt/api.ts';
import { LibvirtError, LibvirtTimeoutError } from '../../../agent/libvirt/errors.ts';

const DAEMON_SOCKET = '/var/run/libvirt/libvirt-sock';
const TEST_DOMAIN_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f'; // the test driver's "test"
const run = promisify(execFile);

async function hasOpenssl(): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
}

/** True once the daemon accepts a connection on its socket (it may be restarting). */
async function daemonAnswers(deadlineMs: number): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection(DAEMON_SOCKET);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const skip = !existsSync(DAEMON_SOCKET)
  ? `libvirtd socket ${DAEMON_SOCKET} is absent`
  : !(await daemonAnswers(10_000))
    ? `libvirtd does not accept connections on ${DAEMON_SOCKET}`
    : !(await hasOpenssl())
      ? 'openssl is not installed (apt-get install -y openssl)'
      : false;
if (skip) console.warn(`SKIPPING libvirt transport integration tests: ${skip}`);

interface Pki {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** A client certificate signed by another CA. */
  readonly rogueCertFile: string;
  readonly rogueKeyFile: string;
}

/** A throwaway CA, a server certificate for 127.0.0.1 and client certificates. */
async function makePki(t: TestContext): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ft-pki-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const p = (f: string): string => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = async (name: string): Promise<void> => {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=virt-ft test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  };
  const leaf = async (name: string, signer: string, ext: string): Promise<void> => {
    await writeFile(p(`${name}.ext`), ext);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p(`${signer}.pem`),
      '-CAkey',
      p(`${signer}.key`),
      '-CAcreateserial',
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    ]);
  };
  await ca('ca');
  await ca('rogue-ca');
  await leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  await leaf('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    certFile: p('client.pem'),
    keyFile: p('client.key'),
    rogueCertFile: p('rogue-client.pem'),
    rogueKeyFile: p('rogue-client.key'),
  };
}

/** Pipes `a` to a fresh connection to the daemon's socket, both ways. */
function pipeToDaemon(a: Socket | TLSSocket, stats: { bytesToDaemon: number }): void {
  const b = createConnection(DAEMON_SOCKET);
  a.on('data', (d: Buffer) => (stats.bytesToDaemon += d.length));
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

interface Relay {
  readonly port: number;
  readonly sockets: Set<Socket>;
  readonly stats: { connections: number; bytesToDaemon: number; closedSockets: number };
}

/** Listens on 127.0.0.1:0, tracks and destroys its sockets on t.after. */
async function listen(
  t: TestContext,
  server: Server,
  onSocket: (s: Socket, stats: Relay['stats']) => void,
  event: 'connection' | 'secureConnection' = 'connection',
): Promise<Relay> {
  const sockets = new Set<Socket>();
  const stats = { connections: 0, bytesToDaemon: 0, closedSockets: 0 };
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      stats.closedSockets++;
    });
  });
  server.on(event, (s: Socket) => {
    stats.connections++;
    onSocket(s, stats);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });
  return { port: (server.address() as AddressInfo).port, sockets, stats };
}

/**
 * `verdict`: the byte to send after the handshake (1 then pipes to the daemon), `null` to hang
 * up instead, `'never'` to keep the session open and say nothing.
 */
async function tlsRelay(
  t: TestContext,
  pki: Pki,
  verdict: number | null | 'never',
): Promise<Relay> {
  const server = createTlsServer({
    key: await readFile(pki.serverKey),
    cert: await readFile(pki.serverCert),
    ca: await readFile(pki.caFile),
    requestCert: true,
    rejectUnauthorized: true,
  });
  return listen(
    t,
    server,
    (s, stats) => {
      if (verdict === null) {
        s.end(); // hang up before the verdict
        return;
      }
      if (verdict === 'never') {
        s.resume(); // a wedged daemon: reads, never answers
        return;
      }
      s.write(Buffer.of(verdict));
      if (verdict === 1) pipeToDaemon(s, stats);
    },
    'secureConnection',
  );
}

async function checkDaemon(client: LibvirtClient): Promise<void> {
  const hostname = await client.getHostname();
  assert.equal(typeof hostname, 'string');
  assert.ok(hostname.length > 0);
  const domains = await client.listAllDomains();
  const test = domains.find((d) => d.uuid === TEST_DOMAIN_UUID);
  assert.ok(test, `the test driver's domain is listed: ${JSON.stringify(domains)}`);
  assert.equal(test.name, 'test');
  assert.equal(await client.getUri(), 'test:///default');
  assert.equal(await client.getType(), 'TEST');
}

/** Connects over TLS through a relay on 127.0.0.1 with the test PKI's client files. */
function connectTls(
  port: number,
  pki: { caFile: string; certFile: string; keyFile: string },
  connectTimeoutMs: number,
): Promise<LibvirtClient> {
  return LibvirtClient.connect({
    uri: `test+tls://127.0.0.1:${port}/default`,
    tls: { caFile: pki.caFile, certFile: pki.certFile, keyFile: pki.keyFile },
    connectTimeoutMs,
  });
}

describe('libvirt transports against the real daemon', { skip, concurrency: false }, () => {
  it('connects over TCP (test+tcp://127.0.0.1:PORT/default)', async (t) => {
    const relay = await listen(t, createServer(), (s, stats) => {
      pipeToDaemon(s, stats);
    });
    const client = await LibvirtClient.connect({
      uri: `test+tcp://127.0.0.1:${relay.port}/default`,
      connectTimeoutMs: 5_000,
    });
    t.after(() => client.close());
    assert.deepEqual(client.info.endpoint, {
      kind: 'tcp',
      host: '127.0.0.1',
      port: relay.port,
      name: 'test:///default',
    });
    assert.ok(client.info.libVersion >= 9_000_000, String(client.info.libVersion));
    await checkDaemon(client);
    assert.equal(relay.stats.connections, 1);
    assert.ok(relay.stats.bytesToDaemon > 0);
    await client.close();
    assert.equal((await client.closed).reason, 'client');
  });

  it('connects over TLS with a client certificate (test+tls://127.0.0.1:PORT/default)', async (t) => {
    const pki = await makePki(t);
    const relay = await tlsRelay(t, pki, 1);
    const client = await connectTls(relay.port, pki, 5_000);
    t.after(() => client.close());
    assert.equal(client.info.endpoint.kind, 'tls');
    await checkDaemon(client);
    assert.equal(relay.stats.connections, 1);
    await client.close();
  });

  it('refuses a TLS daemon whose verdict byte is 0x00, with VFT_ERR_LIBVIRT_CONNECT', async (t) => {
    const pki = await makePki(t);
    const relay = await tlsRelay(t, pki, 0);
    await assert.rejects(connectTls(relay.port, pki, 5_000), (err: unknown) => {
      assert.ok(err instanceof LibvirtError, String(err));
      assert.equal(err.code, 'VFT_ERR_LIBVIRT_CONNECT');
      assert.equal(
        err.message,
        `Cannot connect to libvirt at 127.0.0.1:${relay.port} (tls): the daemon refused our certificate or address (verdict byte 0)`,
      );
      return true;
    });
    assert.equal(relay.stats.bytesToDaemon, 0, 'nothing was sent after the refusal');
  });

  it('refuses a TLS daemon that hangs up before its verdict', async (t) => {
    const pki = await makePki(t);
    const relay = await tlsRelay(t, pki, null);
    await assert.rejects(
      connectTls(relay.port, pki, 5_000),
      (err: unknown) =>
        err instanceof LibvirtError &&
        err.code === 'VFT_ERR_LIBVIRT_CONNECT' &&
        /closed before its verdict/.test(err.message),
    );
  });

  it('times out, without blaming our certificate, when the verdict byte never comes', async (t) => {
    const pki = await makePki(t);
    const relay = await tlsRelay(t, pki, 'never');
    const started = performance.now();
    await assert.rejects(connectTls(relay.port, pki, 300), (err: unknown) => {
      assert.ok(err instanceof LibvirtError, String(err));
      assert.equal(err.code, 'VFT_ERR_LIBVIRT_CONNECT');
      assert.equal(
        err.message,
        `Cannot connect to libvirt at 127.0.0.1:${relay.port} (tls): no TLS verdict byte within 300 ms`,
      );
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 1_500, `gave up after ${elapsed} ms`);
    await waitFor(() => relay.sockets.size === 0, 1_000, 'the client closed its socket');
  });

  it('fails the TLS handshake when our certificate is not from the daemon’s CA', async (t) => {
    const pki = await makePki(t);
    const relay = await tlsRelay(t, pki, 1);
    await assert.rejects(
      LibvirtClient.connect({
        uri: `test+tls://127.0.0.1:${relay.port}/default`,
        tls: { caFile: pki.caFile, certFile: pki.rogueCertFile, keyFile: pki.rogueKeyFile },
        connectTimeoutMs: 5_000,
      }),
      (err: unknown) => err instanceof LibvirtError && err.code === 'VFT_ERR_LIBVIRT_CONNECT',
    );
    assert.equal(relay.stats.connections, 0, 'the relay never accepted the TLS session');
  });

  it('fails when the daemon’s certificate is not from our CA', async (t) => {
    const pki = await makePki(t);
    const relay = await tlsRelay(t, pki, 1);
    await assert.rejects(
      LibvirtClient.connect({
        uri: `test+tls://127.0.0.1:${relay.port}/default`,
        tls: {
          caFile: join(pki.dir, 'rogue-ca.pem'),
          certFile: pki.certFile,
          keyFile: pki.keyFile,
        },
        connectTimeoutMs: 5_000,
      }),
      (err: unknown) =>
        err instanceof LibvirtError &&
        err.code === 'VFT_ERR_LIBVIRT_CONNECT' &&
        /self-signed|unable to verify|certificate/i.test(err.message),
    );
  });

  it('reports unreadable TLS files as CONNECT before dialing', async (t) => {
    const pki = await makePki(t);
    await assert.rejects(
      LibvirtClient.connect({
        uri: 'test+tls://127.0.0.1:1/default',
        tls: { caFile: join(pki.dir, 'missing.pem'), certFile: pki.certFile, keyFile: pki.keyFile },
      }),
      (err: unknown) =>
        err instanceof LibvirtError &&
        err.code === 'VFT_ERR_LIBVIRT_CONNECT' &&
        err.message.startsWith(`Cannot read TLS CA certificate ${join(pki.dir, 'missing.pem')}`),
    );
  });

  it('times out cleanly over TLS when the peer never completes the handshake', async (t) => {
    const pki = await makePki(t);
    // Accepts TCP, reads and ignores everything, never speaks TLS.
    const relay = await listen(t, createServer(), (s) => s.resume());
    const started = performance.now();
    await assert.rejects(
      connectTls(relay.port, pki, 300),
      (err: unknown) =>
        err instanceof LibvirtError &&
        err.code === 'VFT_ERR_LIBVIRT_CONNECT' &&
        err.message ===
          `Cannot connect to libvirt at 127.0.0.1:${relay.port} (tls): no connection within 300 ms`,
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 1_500, `gave up after ${elapsed} ms`);
    await waitFor(() => relay.sockets.size === 0, 1_000, 'the client closed its socket');
  });

  it('times out cleanly over TCP when the peer accepts and never answers', async (t) => {
    const relay = await listen(t, createServer(), (s) => s.resume());
    const started = performance.now();
    await assert.rejects(
      LibvirtClient.connect({
        uri: `test+tcp://127.0.0.1:${relay.port}/default`,
        connectTimeoutMs: 300,
      }),
      (err: unknown) =>
        err instanceof LibvirtTimeoutError &&
        err.timeoutMs === 300 &&
        err.message ===
          `Cannot open libvirt connection test+tcp://127.0.0.1:${relay.port}/default: no answer within 300 ms (waiting for AUTH_LIST)`,
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 1_500, `gave up after ${elapsed} ms`);
    await waitFor(() => relay.sockets.size === 0, 1_000, 'the client closed its socket');
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
