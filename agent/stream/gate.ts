/**
 * The HTTP `upgrade` gate: every check runs on the request, before `handleUpgrade`, so an
 * unauthenticated or unwanted peer never gets a WebSocket, a receiver or a buffer (ws doc:
 * authenticate in `upgrade`, not `verifyClient`). Cheapest checks first. A refusal is a short
 * HTTP response with a JSON body `{ code, message }`, then the socket is destroyed.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { ErrorCode } from '../../shared/errors.ts';
import { ROLE_HEADER, ROLES, roleAtLeast, SUBPROTOCOL } from '../../shared/protocol/index.ts';
import type { Role } from '../../shared/protocol/index.ts';
import { bearerToken } from './auth.ts';
import type { Principal, TokenTable } from './auth.ts';
import type { StreamConfig } from './config.ts';
import type { KeyedBuckets } from './rate-limit.ts';

/** What the gate needs. */
export interface GateDeps {
  readonly config: StreamConfig;
  readonly tokens: TokenTable;
  readonly handshakes: KeyedBuckets;
  /** Open connections plus upgrades in progress. */
  readonly connections: () => number;
}

/** The gate's answer. */
export type Verdict =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: ErrorCode;
      readonly message: string;
      readonly remote: string;
      /** The token id, when the token was valid (role refusals). */
      readonly principal?: string;
    };

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** Checks an upgrade request. */
export function checkUpgrade(req: IncomingMessage, d: GateDeps): Verdict {
  const remote = req.socket.remoteAddress ?? 'unknown';
  const no = (status: number, code: ErrorCode, message: string, principal?: string): Verdict =>
    principal === undefined
      ? { ok: false, status, code, message, remote }
      : { ok: false, status, code, message, remote, principal };
  if (d.connections() >= d.config.maxConnections)
    return no(503, ErrorCode.STREAM_OVERLOADED, `At most ${d.config.maxConnections} connections`);
  if (!d.handshakes.take(remote))
    return no(429, ErrorCode.STREAM_RATE_LIMITED, 'Too many handshakes from this address');
  if (req.url !== d.config.path)
    return no(
      404,
      ErrorCode.STREAM_BAD_MESSAGE,
      `The stream is at ${d.config.path} (no query string)`,
    );
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return no(426, ErrorCode.STREAM_BAD_MESSAGE, 'Only WebSocket upgrades are served');
  const origin = req.headers.origin;
  if (origin !== undefined && !d.config.allowedOrigins.includes(origin))
    return no(403, ErrorCode.STREAM_ORIGIN, 'This Origin is not allowed');
  const token = bearerToken(req.headers.authorization);
  if (token === null)
    return no(401, ErrorCode.STREAM_AUTH, 'An Authorization: Bearer token is required');
  const v = d.tokens.verify(token);
  if (!v.ok)
    return no(
      401,
      ErrorCode.STREAM_AUTH,
      v.expired ? 'The token has expired' : 'The token is not valid',
    );
  const wanted = req.headers[ROLE_HEADER];
  if (wanted !== undefined) {
    if (typeof wanted !== 'string' || !(ROLES as readonly string[]).includes(wanted))
      return no(
        400,
        ErrorCode.STREAM_BAD_MESSAGE,
        `${ROLE_HEADER} must be one of ${ROLES.join(', ')}`,
        v.id,
      );
    if (!roleAtLeast(v.role, wanted as Role))
      return no(
        403,
        ErrorCode.STREAM_FORBIDDEN,
        `The token's role ${v.role} is below the requested ${wanted}`,
        v.id,
      );
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols !== undefined && !protocols.split(',').some((p) => p.trim() === SUBPROTOCOL))
    return no(
      400,
      ErrorCode.STREAM_VERSION,
      `Unsupported subprotocol: this agent speaks ${SUBPROTOCOL}`,
      v.id,
    );
  let certFingerprint: string | null = null;
  if (d.config.tls?.clientCaFile && req.socket instanceof TLSSocket) {
    // rejectUnauthorized already ended unverified handshakes; this is a second look.
    if (!req.socket.authorized)
      return no(
        401,
        ErrorCode.STREAM_AUTH,
        'A client certificate from the configured CA is required',
        v.id,
      );
    certFingerprint = req.socket.getPeerCertificate().fingerprint256 || null;
  }
  return { ok: true, principal: { id: v.id, role: v.role, certFingerprint, remote } };
}

/** Answers a refused upgrade and destroys the socket once the answer is written (or after `timeoutMs`). */
export function refuse(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  timeoutMs: number,
): void {
  const body = JSON.stringify({ code, message });
  const head = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="virt-ft"'] : []),
  ];
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => {
    clearTimeout(timer);
    socket.destroy();
  });
}
