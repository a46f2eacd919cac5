/**
 * One agent, as the coordinator sees it: a WebSocket subscription that resumes from the last
 * stored (epoch, seq), reconnects with jittered exponential backoff (reset once subscribed),
 * detects a dead peer with ws pings, and forwards commands (commands.ts). Messages are
 * validated with the protocol's own parser; events go to the sink in seq order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { backoffDelayMs } from '../../agent/supervisor/backoff.ts';
import type { BackoffOptions } from '../../agent/supervisor/backoff.ts';
import { describeError } from '../../shared/errors.ts';
import {
  encodeMessage,
  parseServerMessage,
  PROTOCOL_VERSION,
} from '../../shared/protocol/index.ts';
import type {
  EventMessage,
  HelloMessage,
  ServerMessage,
  WireStatus,
} from '../../shared/protocol/index.ts';
import type { Cursor } from '../store/types.ts';
import { PendingCommands } from './commands.ts';
import { dial, UpgradeRefusedError } from './connect.ts';
import { SnapshotRefresher } from './refresh.ts';
import type { Dialed, Dialer } from './connect.ts';

/** Where a link's messages go (in order). */
export interface LinkSink {
  snapshot(host: string, epoch: string, seq: number, status: WireStatus): void;
  event(host: string, epoch: string, event: EventMessage): void;
  /** Reachability or connection details changed. */
  changed(host: string): void;
  /** A side snapshot: only policy levels are taken from it. */
  policies?(host: string, status: WireStatus): void;
}

/** The connection's state: `subscribed` is reachable and caught up. */
export type LinkState = 'connecting' | 'connected' | 'subscribed' | 'backoff' | 'stopped';

/** What the fleet shows of a link. */
export interface LinkInfo {
  readonly state: LinkState;
  /** When any message or pong last came (ms), null if never. */
  readonly lastHeardMs: number | null;
  /** Since when it is in this state. */
  readonly sinceMs: number;
  readonly attempt: number;
  readonly lastError: string | null;
  readonly hello: HelloMessage | null;
  readonly cursor: Cursor | null;
  /** Seqs that arrived out of order without a gap (a protocol bug; should stay 0). */
  readonly seqAnomalies: number;
  readonly gaps: number;
}

/** Options of {@link AgentLink}. */
export interface AgentLinkOptions {
  readonly host: string;
  readonly dialer: Dialer;
  readonly sink: LinkSink;
  readonly log: Logger;
  readonly backoff: BackoffOptions;
  readonly pingIntervalMs: number;
  /** The stored cursor to resume from (null: fresh subscription, a snapshot first). */
  readonly cursor: Cursor | null;
}

/** The coordinator's subscription to one agent; `start()`, `info()`, `resync()`, `close()`. */
export class AgentLink {
  readonly host: string;
  readonly commands: PendingCommands;
  /** Side snapshots for what events do not carry (new VMs' policy levels). */
  readonly refresher: SnapshotRefresher;
  readonly #o: AgentLinkOptions;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #ws: WebSocket | null = null;
  #state: LinkState = 'connecting';
  #sinceMs = Date.now();
  #lastHeardMs: number | null = null;
  #attempt = 0;
  #lastError: string | null = null;
  #hello: HelloMessage | null = null;
  #cursor: Cursor | null;
  #epoch: string | null = null;
  #anomalies = 0;
  #gaps = 0;
  #alive = true;
  #pinger: NodeJS.Timeout | null = null;
  #loop: Promise<void> | null = null;

  constructor(o: AgentLinkOptions) {
    this.#o = o;
    this.host = o.host;
    this.#cursor = o.cursor;
    this.#log = o.log.child({ component: 'link', host: o.host });
    this.refresher = new SnapshotRefresher(o.dialer, this.#log, 5_000, (status) => {
      o.sink.policies?.(o.host, status);
    });
    this.commands = new PendingCommands({
      log: this.#log,
      send: (line) => this.#sendLine(line),
      ready: () => this.#state === 'subscribed' || this.#state === 'connected',
    });
  }

  /** Starts connecting (and reconnecting until {@link close}). */
  start(): void {
    this.#loop ??= this.#run();
  }

  info(): LinkInfo {
    return {
      state: this.#state,
      lastHeardMs: this.#lastHeardMs,
      sinceMs: this.#sinceMs,
      attempt: this.#attempt,
      lastError: this.#lastError,
      hello: this.#hello,
      cursor: this.#cursor,
      seqAnomalies: this.#anomalies,
      gaps: this.#gaps,
    };
  }

  /**
   * Drops the connection and resumes from `cursor` (the store's: messages after it were not
   * stored). The next connection subscribes from there.
   */
  resync(cursor: Cursor | null): void {
    this.#cursor = cursor;
    this.#ws?.terminate();
  }

  /** Stops for good: closes the socket, fails pending commands. Idempotent. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.refresher.close();
    this.#ws?.close(1001, 'coordinator stopping');
    this.#ws?.terminate();
    this.commands.failAll('the coordinator is stopping');
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      this.#set('connecting');
      try {
        const dialed = await dial(this.#o.dialer);
        if (signal.aborted) {
          dialed.ws.terminate();
          break;
        }
        await this.#serve(dialed);
      } catch (err) {
        this.#lastError = describeError(err);
        const level = err instanceof UpgradeRefusedError && err.status !== 503 ? 'error' : 'warn';
        this.#log[level](
          { err: this.#lastError, attempt: this.#attempt },
          'agent connection failed',
        );
      }
      if (signal.aborted) break;
      const delayMs = backoffDelayMs(Math.min(this.#attempt++, 64), this.#o.backoff);
      this.#set('backoff');
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
    this.#set('stopped');
  }

  /** Runs one connection until it closes. */
  #serve(dialed: Dialed): Promise<void> {
    const { ws } = dialed;
    this.#ws = ws;
    this.#alive = true;
    this.#heard();
    this.#pinger = setInterval(() => {
      if (!this.#alive) {
        this.#log.warn('agent did not answer a ping: terminating the connection');
        this.#lastError = 'no answer to a ping';
        ws.terminate();
        return;
      }
      this.#alive = false;
      ws.ping();
    }, this.#o.pingIntervalMs);
    ws.on('pong', () => {
      this.#heard();
    });
    dialed.stopBuffering();
    for (const data of dialed.early) this.#onMessage(data.toString('utf8'), ws);
    ws.on('message', (data: Buffer, isBinary) => {
      this.#heard();
      if (isBinary) return;
      this.#onMessage(data.toString('utf8'), ws);
    });
    ws.on('error', (err) => {
      this.#lastError = describeError(err);
    });
    return new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        if (this.#pinger) clearInterval(this.#pinger);
        this.#ws = null;
        this.#hello = null;
        if (!this.#stop.signal.aborted) {
          this.#lastError ??= `closed ${code} ${reason.toString('utf8')}`.trim();
          this.#log.warn({ code, reason: reason.toString('utf8') }, 'agent connection closed');
        }
        resolve();
      });
    });
  }

  #onMessage(text: string, ws: WebSocket): void {
    const r = parseServerMessage(text);
    if (!r.ok) {
      this.#log.error({ err: r.error.message }, 'invalid message from the agent: reconnecting');
      this.#lastError = `invalid message: ${r.error.message}`;
      ws.close(1008, 'invalid message');
      return;
    }
    this.#handle(r.message, ws);
  }

  #handle(m: ServerMessage, ws: WebSocket): void {
    const host = this.host;
    switch (m.type) {
      case 'hello': {
        this.#hello = m;
        this.#epoch = m.epoch;
        this.#set('connected');
        const c = this.#cursor;
        const resume = c ? { fromSeq: c.seq, epoch: c.epoch } : {};
        ws.send(encodeMessage({ v: PROTOCOL_VERSION, type: 'subscribe', stats: false, ...resume }));
        this.commands.resend();
        return;
      }
      case 'snapshot':
        this.#epoch = m.epoch;
        this.#cursor = { epoch: m.epoch, seq: m.seq };
        this.#o.sink.snapshot(host, m.epoch, m.seq, m.status);
        return;
      case 'event': {
        const epoch = this.#epoch ?? '';
        const last = this.#cursor?.epoch === epoch ? this.#cursor.seq : null;
        if (last !== null && m.seq <= last) return; // already have it
        if (last !== null && m.seq !== last + 1) {
          this.#anomalies++;
          this.#log.error({ expected: last + 1, got: m.seq }, 'event seq skipped without a gap');
        }
        this.#cursor = { epoch, seq: m.seq };
        this.#o.sink.event(host, epoch, m);
        return;
      }
      case 'gap':
        this.#gaps++;
        this.#log.warn({ reason: m.reason, from: m.from, to: m.to }, m.message);
        return;
      case 'subscribed':
        this.#attempt = 0;
        this.#lastError = null;
        this.#log.info(
          { mode: m.mode, epoch: m.epoch, seq: m.seq, replayed: m.replayed },
          'subscribed',
        );
        this.#set('subscribed');
        return;
      case 'ack':
      case 'result':
      case 'error':
        this.commands.answer(m);
        return;
      case 'stats':
      case 'pong':
        return;
    }
  }

  #sendLine(line: string): boolean {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== ws.OPEN) return false;
    ws.send(line);
    return true;
  }

  #heard(): void {
    this.#alive = true;
    this.#lastHeardMs = Date.now();
  }

  #set(state: LinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#sinceMs = Date.now();
    this.#o.sink.changed(this.host);
  }
}
