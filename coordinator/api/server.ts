/**
 * The admin API's HTTP(S) server: hardened like the agent's stream (small headers, short
 * timeouts, a socket cap), TLS optional (loopback by default), every request authenticated
 * before its body is read, every WebSocket upgrade before `handleUpgrade` (ws: authenticate in
 * 'upgrade'). Routes: GET /v1/hosts, /v1/vms, /v1/health, /v1/events, /v1/metrics; POST
 * /v1/actions; WebSocket /v1/watch. docs/coordinator.md describes them.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { refuse } from '../../agent/stream/gate.ts';
import { parseListen } from '../../agent/stream/config.ts';
import { describeError, ErrorCode } from '../../shared/errors.ts';
import type { CoordinatorConfig } from '../config.ts';
import { runAction } from './actions.ts';
import type { ActionDeps } from './actions.ts';
import { readJsonBody } from './body.ts';
import { ApiError, sendError, sendJson } from './errors.ts';
import { readRoute } from './routes.ts';
import type { ReadDeps } from './routes.ts';
import { watchQuery } from './watch.ts';
import type { WatchHub } from './watch.ts';

/** What the server serves. */
export interface ApiDeps extends ReadDeps, Omit<ActionDeps, 'actionTimeoutMs'> {
  readonly config: CoordinatorConfig['api'];
  readonly watch: WatchHub;
}

/** The admin API server: `start()` listens on `api.listen`, `close()` stops it. */
export class ApiServer {
  readonly #d: ApiDeps;
  readonly #log: Logger;
  #server: http.Server | null = null;
  readonly #wss: WebSocketServer;

  constructor(d: ApiDeps) {
    this.#d = d;
    this.#log = d.log.child({ component: 'api' });
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: d.config.maxBodyBytes,
      perMessageDeflate: false,
      maxFragments: 64,
      maxBufferedChunks: 1024,
      skipUTF8Validation: false,
      clientTracking: false,
    });
  }

  /** Starts listening on `api.listen`. */
  async start(): Promise<void> {
    const c = this.#d.config;
    const addr = parseListen(c.listen);
    if (typeof addr === 'string') throw new RangeError(addr);
    const base: http.ServerOptions = {
      headersTimeout: c.headersTimeoutMs,
      requestTimeout: c.requestTimeoutMs,
      maxHeaderSize: 8 * 1024,
      connectionsCheckingInterval: Math.min(1_000, c.headersTimeoutMs),
      keepAliveTimeout: 5_000,
    };
    let server: http.Server;
    if (c.tls) {
      const t = c.tls;
      const ca = t.clientCaFile === null ? undefined : await readFile(t.clientCaFile);
      server = https.createServer({
        ...base,
        key: await readFile(t.keyFile),
        cert: await readFile(t.certFile),
        minVersion: t.minVersion,
        ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
      });
    } else server = http.createServer(base);
    server.maxHeadersCount = 100;
    server.maxConnections = Math.max(256, c.maxWatchers * 4);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#request(req, res).catch((err: unknown) => {
        this.#log.error({ err: describeError(err) }, 'API request failed');
        sendJson(res, 500, { code: ErrorCode.STREAM_INTERNAL, message: 'Internal error' });
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#upgrade(req, socket, head);
    });
    server.on('clientError', (_err, socket) => {
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#log.info({ url: this.url }, 'admin API listening');
  }

  /** `http(s)://host:port` once listening. */
  get url(): string | null {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (!a) return null;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.#d.config.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  /** Stops listening; open connections are closed. */
  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#d.watch.close();
    await new Promise<void>((r) => {
      s.close(() => {
        r();
      });
      s.closeAllConnections();
    });
  }

  async #request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const d = this.#d;
    try {
      const url = new URL(req.url ?? '/', 'http://coordinator');
      const path = url.pathname;
      if (path === '/v1/watch')
        throw new ApiError(426, ErrorCode.COORD_BAD_REQUEST, '/v1/watch is a WebSocket');
      if (req.method === 'GET' || req.method === 'HEAD') {
        d.auth.check(req, 'viewer');
        const body = readRoute(d, path, url);
        if (body === null)
          throw new ApiError(404, ErrorCode.COORD_NOT_FOUND, `No route GET ${path}`);
        sendJson(res, 200, body);
        return;
      }
      if (req.method === 'POST' && path === '/v1/actions') {
        const p = d.auth.check(req, 'operator');
        const body = await readJsonBody(req, d.config.maxBodyBytes);
        const r = await runAction({ ...d, actionTimeoutMs: d.config.actionTimeoutMs }, p, body);
        sendJson(res, r.status, r.body);
        return;
      }
      throw new ApiError(405, ErrorCode.COORD_NOT_FOUND, `No route ${req.method ?? '?'} ${path}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 413 || err.status === 415) res.setHeader('connection', 'close');
      sendError(res, err);
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const d = this.#d;
    try {
      const url = new URL(req.url ?? '/', 'http://coordinator');
      if (url.pathname !== '/v1/watch')
        throw new ApiError(404, ErrorCode.COORD_NOT_FOUND, 'The live tail is at /v1/watch');
      if (d.watch.size >= d.config.maxWatchers)
        throw new ApiError(
          503,
          ErrorCode.COORD_OVERLOADED,
          `At most ${d.config.maxWatchers} watchers`,
        );
      const p = d.auth.check(req, 'viewer');
      const q = watchQuery(url);
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        d.watch.add(ws, p, q);
      });
    } catch (err) {
      const e =
        err instanceof ApiError
          ? err
          : new ApiError(500, ErrorCode.STREAM_INTERNAL, 'Internal error', { cause: err });
      refuse(socket, e.status, e.code, e.message, 2_000);
    }
  }
}
