/**
 * One authenticated client: its principal, its outbox, its rate limits and its heartbeat.
 * Inbound text is parsed by the protocol's codec (shared/protocol/codec.ts); a message that is
 * not JSON closes with 1007, a hostile one (too deep, forbidden key, binary, wrong version)
 * with 1008/1003/1002, each after an `error` saying why; a message that is JSON but not a valid
 * message gets an `error` and the connection stays open. Every message spends a token of the
 * connection's message bucket; refusals that go on for `floodCloseMs` close it with 1008.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { ErrorCode } from '../../shared/errors.ts';
import {
  CloseCode,
  encodeMessage,
  parseClientMessage,
  PROTOCOL_VERSION,
} from '../../shared/protocol/index.ts';
import type { ClientMessage, ErrorMessage, ServerMessage } from '../../shared/protocol/index.ts';
import type { Audit } from './audit.ts';
import type { Principal } from './auth.ts';
import type { StreamConfig } from './config.ts';
import { Outbox } from './outbox.ts';
import type { OutboxHooks } from './outbox.ts';
import type { Clock } from './rate-limit.ts';
import { FloodDetector, TokenBucket } from './rate-limit.ts';

/** What a connection hands to the server. */
export interface ConnectionHandlers {
  message(c: Connection, m: ClientMessage): void;
  closed(c: Connection): void;
}

/** Everything a connection is built with. */
export interface ConnectionDeps {
  readonly config: StreamConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly audit: Audit;
  readonly hooks: Omit<OutboxHooks, 'tooSlow'>;
  readonly handlers: ConnectionHandlers;
}

let nextId = 1;

export class Connection {
  /** Process-unique, for logs. */
  readonly id = nextId++;
  readonly principal: Principal;
  readonly outbox: Outbox;
  /** Commands: 10/s, burst 20 by default. */
  readonly commands: TokenBucket;
  readonly commandFlood: FloodDetector;
  /** Whether this client wants `stats` messages. */
  wantsStats = true;
  readonly #ws: WebSocket;
  readonly #d: ConnectionDeps;
  readonly #messages: TokenBucket;
  readonly #messageFlood: FloodDetector;
  #alive = true;
  #closing = false;

  constructor(ws: WebSocket, principal: Principal, d: ConnectionDeps) {
    this.#ws = ws;
    this.#d = d;
    this.principal = principal;
    const l = d.config.limits;
    this.#messages = new TokenBucket(l.messagesPerSec, l.messageBurst, d.clock);
    this.#messageFlood = new FloodDetector(l.floodCloseMs, d.clock);
    this.commands = new TokenBucket(l.commandsPerSec, l.commandBurst, d.clock);
    this.commandFlood = new FloodDetector(l.floodCloseMs, d.clock);
    this.outbox = new Outbox(ws, d.config.backpressure, d.clock, {
      ...d.hooks,
      tooSlow: (bytes) => {
        this.fail(
          ErrorCode.STREAM_SLOW_CONSUMER,
          `${bytes} bytes stayed buffered for ${d.config.backpressure.slowCloseMs} ms: reconnect and resume`,
          CloseCode.TRY_AGAIN_LATER,
        );
      },
    });
    ws.on('message', (data, isBinary) => {
      this.#onMessage(data, isBinary);
    });
    ws.on('pong', () => (this.#alive = true));
    // ws reports protocol violations (1002, 1007 bad UTF-8, 1008, 1009 too big) here, then closes.
    ws.on('error', (err) => {
      d.log.debug({ err, conn: this.id, principal: principal.id }, 'stream connection error');
    });
    ws.on('close', (code, reason) => {
      d.log.info(
        {
          conn: this.id,
          principal: principal.id,
          code,
          reason: reason.toString('utf8').slice(0, 123),
        },
        'stream client disconnected',
      );
      d.handlers.closed(this);
    });
  }

  get open(): boolean {
    return !this.#closing && this.#ws.readyState === this.#ws.OPEN;
  }

  /** Sends a control message (never dropped). */
  send(msg: ServerMessage): void {
    this.outbox.control(encodeMessage(msg));
  }

  /** Refuses one message; the connection stays open. */
  reply(
    ref: string | null,
    code: ErrorCode,
    message: string,
    retryAfterMs: number | null = null,
  ): void {
    this.send(errorMessage(ref, code, message, retryAfterMs, false));
  }

  /** Says why, then closes with `closeCode`. */
  fail(code: ErrorCode, message: string, closeCode: CloseCode, ref: string | null = null): void {
    if (this.#closing) return;
    this.#d.log.warn(
      { conn: this.id, principal: this.principal.id, code, closeCode, message },
      'stream client closed by the agent',
    );
    this.send(errorMessage(ref, code, message, null, true));
    this.close(closeCode, code);
  }

  /** Closes with a code and a short reason (a string: never a TypedArray, ws advisory 2026-05-12). */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#ws.close(code, reason.slice(0, 120));
  }

  /** Heartbeat sweep: terminates a client that did not answer the last ping, pings the others. */
  heartbeat(): void {
    if (!this.#alive) {
      this.#d.log.warn(
        { conn: this.id, principal: this.principal.id, remote: this.principal.remote },
        'stream client did not answer a ping: terminated',
      );
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    this.#ws.ping();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closing) return;
    if (!this.#messages.take()) {
      if (this.#messageFlood.refused()) {
        this.fail(
          ErrorCode.STREAM_RATE_LIMITED,
          'Message flood: closing',
          CloseCode.POLICY_VIOLATION,
        );
      } else {
        this.reply(
          null,
          ErrorCode.STREAM_RATE_LIMITED,
          'Too many messages',
          this.#messages.waitMs(),
        );
      }
      return;
    }
    if (isBinary) {
      this.fail(
        ErrorCode.STREAM_BAD_MESSAGE,
        'Binary frames are not part of the protocol',
        CloseCode.UNSUPPORTED_DATA,
      );
      return;
    }
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    const r = parseClientMessage(text, { maxBytes: this.#d.config.maxPayloadBytes });
    if (r.ok) {
      this.#d.handlers.message(this, r.message);
      return;
    }
    const e = r.error;
    this.#d.audit.record({
      decision: 'invalid',
      principal: this.principal.id,
      role: this.principal.role,
      remote: this.principal.remote,
      cmdId: e.ref,
      idemKey: null,
      action: null,
      domainUuid: null,
      code: e.code,
      message: e.message,
    });
    if (e.closeCode === null) this.reply(e.ref, e.code, e.message);
    else this.fail(e.code, e.message, e.closeCode, e.ref);
  }
}

/** An `error` message. */
export function errorMessage(
  ref: string | null,
  code: ErrorCode,
  message: string,
  retryAfterMs: number | null,
  fatal: boolean,
): ErrorMessage {
  return {
    v: PROTOCOL_VERSION,
    type: 'error',
    ref,
    code,
    message: message.slice(0, 4096),
    retryAfterMs:
      retryAfterMs === null ? null : Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(retryAfterMs))),
    fatal,
  };
}
