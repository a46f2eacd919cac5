/**
 * The HTTP `upgrade` handler: refuses while closing, runs the gate (gate.ts), audits and answers
 * a refusal, and hands an accepted socket to ws. Upgrades in progress count toward
 * `maxConnections`, including one ws aborts itself (a bad `Sec-WebSocket-Key`).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { ErrorCode } from '../../shared/errors.ts';
import type { Audit } from './audit.ts';
import type { Principal } from './auth.ts';
import { checkUpgrade, refuse } from './gate.ts';
import type { GateDeps } from './gate.ts';

/** What the handler needs. */
export interface UpgradeDeps extends Omit<GateDeps, 'connections'> {
  readonly audit: Audit;
  /** Open connections (upgrades in progress are added here). */
  readonly open: () => number;
  readonly closing: () => boolean;
  readonly accept: (ws: WebSocket, principal: Principal) => void;
}

export class UpgradeHandler {
  readonly #d: UpgradeDeps;
  readonly #wss: WebSocketServer;
  #pending = 0;

  constructor(wss: WebSocketServer, d: UpgradeDeps) {
    this.#wss = wss;
    this.#d = d;
  }

  /** Serves the upgrades of `server`. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#upgrade(req, socket, head);
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const d = this.#d;
    const timeout = d.config.closeTimeoutMs;
    socket.on('error', () => undefined); // a reset during the handshake is not ours to crash on
    if (d.closing()) {
      refuse(socket, 503, ErrorCode.STREAM_CLOSING, 'The agent is shutting down', timeout);
      return;
    }
    const v = checkUpgrade(req, { ...d, connections: () => d.open() + this.#pending });
    if (!v.ok) {
      d.audit.record(
        {
          decision: 'refused',
          principal: v.principal ?? `ip:${v.remote}`,
          role: null,
          remote: v.remote,
          cmdId: null,
          idemKey: null,
          action: null,
          domainUuid: null,
          code: v.code,
          message: `HTTP ${v.status}: ${v.message}`,
        },
        'handshake',
      );
      refuse(socket, v.status, v.code, v.message, timeout);
      return;
    }
    let settled = false;
    const settle = () => {
      if (!settled) this.#pending--;
      settled = true;
    };
    this.#pending++;
    socket.once('close', settle);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      settle();
      d.accept(ws, v.principal);
    });
  }
}
