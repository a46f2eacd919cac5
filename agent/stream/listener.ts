/**
 * The hardened HTTP(S) server and WebSocket server of the stream (reliability.md §2.2): small
 * header limits and timeouts against slowloris, TLS 1.3 by default with an optional client
 * certificate check, a hard socket cap, and ws with a small maxPayload, compression off, few
 * fragments and chunks, few pending auto-pongs and a short close timeout. test/unit/stream
 * checks these options, so a change that loosens one fails there.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';
import type { ServerOptions } from 'ws';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { SUBPROTOCOL } from '../../shared/protocol/index.ts';
import type { StreamConfig } from './config.ts';

/** Options ws 8.23 reads that @types/ws 8.18 does not declare yet. */
type WsOptions = ServerOptions & { closeTimeout: number; maxPendingAutoPongs: number };

/** The ws options the stream uses. */
export function wsOptions(c: StreamConfig): WsOptions {
  return {
    noServer: true, // authenticate in 'upgrade', then handleUpgrade
    maxPayload: c.maxPayloadBytes,
    perMessageDeflate: false,
    maxFragments: 64,
    maxBufferedChunks: 1024,
    maxPendingAutoPongs: 8,
    skipUTF8Validation: false,
    closeTimeout: c.closeTimeoutMs,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  };
}

/** The HTTP options the stream uses (`connectionsCheckingInterval` never above `headersTimeout`). */
export function httpOptions(c: StreamConfig): http.ServerOptions {
  return {
    headersTimeout: c.headersTimeoutMs,
    requestTimeout: c.requestTimeoutMs,
    maxHeaderSize: 8 * 1024,
    connectionsCheckingInterval: Math.min(1_000, c.headersTimeoutMs),
    keepAliveTimeout: 5_000,
  };
}

/** Builds the (not yet listening) server: https when `tls` is set. Throws VFT_ERR_CONFIG_INVALID on unreadable PEM files. */
export async function createListener(c: StreamConfig): Promise<http.Server> {
  const base = httpOptions(c);
  let server: http.Server;
  if (c.tls) {
    const t = c.tls;
    const read = async (file: string, what: string) => {
      try {
        return await readFile(file);
      } catch (err) {
        throw new AgentError(ErrorCode.CONFIG_INVALID, `Cannot read stream.tls.${what} ${file}`, {
          cause: err,
        });
      }
    };
    const ca = t.clientCaFile === null ? undefined : await read(t.clientCaFile, 'clientCaFile');
    server = https.createServer({
      ...base,
      key: await read(t.keyFile, 'keyFile'),
      cert: await read(t.certFile, 'certFile'),
      minVersion: t.minVersion,
      handshakeTimeout: c.headersTimeoutMs,
      ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
    });
  } else {
    server = http.createServer(base);
  }
  server.maxHeadersCount = 100;
  // The hard socket cap; the gate answers 503 well before it (maxConnections open WebSockets).
  server.maxConnections = Math.max(64, c.maxConnections * 8);
  server.on('request', (_req, res) => {
    const body = JSON.stringify({
      code: ErrorCode.STREAM_BAD_MESSAGE,
      message: 'Only WebSocket upgrades are served',
    });
    res.writeHead(426, {
      'content-type': 'application/json',
      connection: 'close',
      upgrade: 'websocket',
    });
    res.end(body);
  });
  return server;
}

/** The WebSocket server (no server of its own: upgrades come through the gate). */
export function createWss(c: StreamConfig): WebSocketServer {
  return new WebSocketServer(wsOptions(c));
}
