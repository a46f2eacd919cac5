/**
 * Opening one WebSocket to an agent's stream, hardened as a client (reliability.md §2.8):
 * compression off (the ws client's default is on), no redirects, a handshake deadline, a
 * bounded frame size (16 MiB: a snapshot of a large host), the token only in `Authorization`.
 * Credentials are read once at start; a refused upgrade becomes an error with its HTTP status.
 */
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { AgentError, ErrorCode } from '../../shared/errors.ts';
import { LIMITS, SUBPROTOCOL } from '../../shared/protocol/index.ts';
import type { AgentTarget } from '../config.ts';

/** What a link needs to dial its agent, files already read. */
export interface Dialer {
  readonly url: string;
  readonly options: ClientOptions;
}

/** An upgrade the agent refused. */
export class UpgradeRefusedError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`the agent refused the upgrade: HTTP ${status} ${body.slice(0, 200)}`);
    this.status = status;
  }
}

async function read(file: string, what: string, agent: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new AgentError(ErrorCode.CONFIG_INVALID, `Cannot read agents[${agent}].${what} ${file}`, {
      cause: err,
    });
  }
}

/** Reads the target's token and TLS files; throws VFT_ERR_CONFIG_INVALID when one is unreadable. */
export async function makeDialer(t: AgentTarget, connectTimeoutMs: number): Promise<Dialer> {
  const token =
    t.token ?? (await read(t.tokenFile ?? '', 'tokenFile', t.id)).toString('utf8').trim();
  const options: ClientOptions = {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
    followRedirects: false,
    handshakeTimeout: connectTimeoutMs,
    maxPayload: LIMITS.maxServerMessageBytes,
    ...(t.caFile === undefined ? {} : { ca: await read(t.caFile, 'caFile', t.id) }),
    ...(t.certFile === undefined ? {} : { cert: await read(t.certFile, 'certFile', t.id) }),
    ...(t.keyFile === undefined ? {} : { key: await read(t.keyFile, 'keyFile', t.id) }),
    ...(t.servername === undefined ? {} : { servername: t.servername }),
  };
  return { url: t.url, options };
}

/** An open socket, and the messages that came with the upgrade (before anyone listened). */
export interface Dialed {
  readonly ws: WebSocket;
  /** Messages received so far; the caller takes over by calling `stopBuffering`. */
  readonly early: Buffer[];
  stopBuffering(): void;
}

/**
 * Opens the socket; resolves once open, rejects on refusal, error or deadline. The agent's
 * `hello` can arrive in the same read as the 101: it is kept in `early`.
 */
export function dial(d: Dialer): Promise<Dialed> {
  const ws = new WebSocket(d.url, [SUBPROTOCOL], d.options);
  const early: Buffer[] = [];
  const buffer = (data: Buffer) => early.push(data);
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(err);
    };
    ws.once('open', () => {
      ws.removeAllListeners();
      ws.on('message', buffer);
      resolve({ ws, early, stopBuffering: () => ws.off('message', buffer) });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 1024) body += c;
      });
      const done = () => {
        fail(new UpgradeRefusedError(res.statusCode ?? 0, body));
      };
      res.once('end', done);
      res.once('error', done);
    });
    ws.once('error', fail);
  });
}
