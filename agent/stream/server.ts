/**
 * The agent's status stream server (docs/protocol.md, ADR 0020 and 0021). Off unless
 * `stream.listen` is set. Authenticates every upgrade before any WebSocket exists
 * (agent/stream/gate.ts), journals every event with a dense seq that survives restarts
 * (journal.ts), serves snapshots and resumes, applies backpressure per client (outbox.ts),
 * and runs commands exactly once per idempotency key (commands.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { ErrorCode } from '../../shared/errors.ts';
import {
  CAPABILITIES,
  COMMAND_ACTIONS,
  CloseCode,
  PROTOCOL_VERSION,
  requiredRole,
  roleAtLeast,
} from '../../shared/protocol/index.ts';
import type { ClientMessage } from '../../shared/protocol/index.ts';
import { Audit } from './audit.ts';
import { TokenTable } from './auth.ts';
import type { Principal } from './auth.ts';
import { CommandRunner } from './commands.ts';
import { parseListen } from './config.ts';
import type { StreamConfig } from './config.ts';
import { Connection } from './connection.ts';
import { EventFeed } from './feed.ts';
import { Journal } from './journal.ts';
import { KeyStore } from './key-store.ts';
import { createListener, createWss } from './listener.ts';
import type { StreamAgent } from './port.ts';
import { KeyedBuckets, TokenBucket } from './rate-limit.ts';
import type { Clock } from './rate-limit.ts';
import { Snapshots } from './snapshots.ts';
import { Subscriptions } from './subscriptions.ts';
import { UpgradeHandler } from './upgrade.ts';

/** Options of {@link StreamServer}. */
export interface StreamServerOptions {
  readonly agent: StreamAgent;
  /** The agent config's `stream` section. */
  readonly config: StreamConfig;
  /** Where the journal and policy keys live: `<agent stateDir>/stream` (created 0700). */
  readonly stateDir: string;
  readonly log: Logger;
  /** Reported in `hello`. @default 'unknown' */
  readonly agentVersion?: string;
  /** Monotonic ms for rate limits and slow-client timing (tests freeze it). @default performance.now */
  readonly clock?: Clock;
}

/** Counters for tests and metrics. */
export interface StreamStats {
  readonly connections: number;
  readonly journal: {
    readonly epoch: string;
    readonly seq: number;
    readonly base: number;
    readonly size: number;
    readonly degraded: boolean;
  } | null;
  readonly clients: readonly {
    readonly id: number;
    readonly principal: string;
    readonly maxBuffered: number;
    readonly gaps: number;
    readonly skipped: number;
    readonly lagging: boolean;
    readonly stuckForMs: number | null;
  }[];
  readonly runningActions: number;
  readonly auditSuppressed: number;
}

export class StreamServer {
  readonly #o: StreamServerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #audit: Audit;
  readonly #conns = new Set<Connection>();
  readonly #timers: NodeJS.Timeout[] = [];
  #http: Server | null = null;
  #journal: Journal | null = null;
  #snapshots: Snapshots | null = null;
  #subs: Subscriptions | null = null;
  #commands: CommandRunner | null = null;
  #feed: EventFeed | null = null;
  #closing: Promise<void> | null = null;

  constructor(o: StreamServerOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'stream' });
    this.#clock = o.clock ?? (() => performance.now());
    this.#audit = new Audit(this.#log, this.#clock);
  }

  /**
   * Opens the journal and starts listening; a no-op when `listen` is null. Rejects on unreadable
   * TLS or token files, an unusable state directory, or an address it cannot bind.
   */
  async start(): Promise<void> {
    const c = this.#o.config;
    if (c.listen === null) {
      this.#log.info('status stream off (stream.listen is not set)');
      return;
    }
    const addr = parseListen(c.listen);
    if (typeof addr === 'string') throw new RangeError(addr);
    const tokens = await TokenTable.load(c, this.#log);
    const journal = await Journal.open({
      dir: this.#o.stateDir,
      maxEvents: c.journal.maxEvents,
      maxBytes: c.journal.maxBytes,
      log: this.#log,
    });
    const keys = new KeyStore(join(this.#o.stateDir, 'keys'), c.keyRetentionMs);
    await keys.ready();
    await keys.sweep();
    const { agent } = this.#o;
    this.#journal = journal;
    this.#snapshots = new Snapshots(agent, journal, this.#log);
    this.#subs = new Subscriptions(journal, this.#snapshots);
    this.#commands = new CommandRunner({
      agent,
      keys,
      audit: this.#audit,
      limits: c.limits,
      clock: this.#clock,
      log: this.#log,
    });
    journal.onCommit = (batch) => {
      for (const conn of this.#conns) for (const e of batch) conn.outbox.event(e);
    };
    const wss = createWss(c);
    const server = await createListener(c);
    const l = c.limits;
    new UpgradeHandler(wss, {
      config: c,
      tokens,
      handshakes: new KeyedBuckets(
        () => new TokenBucket(l.handshakesPerSecPerIp, l.handshakeBurst, this.#clock),
      ),
      audit: this.#audit,
      open: () => this.#conns.size,
      closing: () => this.#closing !== null,
      accept: (ws, principal) => {
        this.#accept(ws, principal);
      },
    }).attach(server);
    server.on('tlsClientError', (err) => {
      this.#log.debug({ err }, 'stream TLS handshake failed');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => {
      this.#log.error({ err }, 'stream listener error');
    });
    this.#http = server;
    const feed = new EventFeed(agent, journal, this.#log);
    this.#feed = feed;
    feed.start();
    this.#every(c.pingIntervalMs, () => {
      for (const conn of this.#conns) conn.heartbeat();
    });
    this.#every(c.backpressure.checkIntervalMs, () => {
      for (const conn of this.#conns) conn.outbox.check();
    });
    if (c.statsIntervalMs > 0)
      this.#every(c.statsIntervalMs, () => {
        const deltas = feed.statsDeltas();
        if (deltas.length === 0) return;
        for (const conn of this.#conns) if (conn.wantsStats) conn.outbox.stats(deltas);
      });
    this.#every(3_600_000, () => {
      keys.sweep().catch((err: unknown) => {
        this.#log.warn({ err }, 'stream key sweep failed');
      });
    });
    this.#log.info(
      {
        url: this.url,
        epoch: journal.epoch,
        seq: journal.seq,
        tokens: tokens.size,
        tls: c.tls !== null,
      },
      'status stream listening',
    );
  }

  /** `ws://host:port/path` (wss with TLS) once listening; null otherwise. */
  get url(): string | null {
    const a = this.#http?.address() as AddressInfo | null | undefined;
    if (!a) return null;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.#o.config.tls ? 'wss' : 'ws'}://${host}:${a.port}${this.#o.config.path}`;
  }

  /** Counters for tests and metrics. */
  stats(): StreamStats {
    const j = this.#journal;
    return {
      connections: this.#conns.size,
      journal: j && {
        epoch: j.epoch,
        seq: j.seq,
        base: j.base,
        size: j.size,
        degraded: j.degraded,
      },
      clients: [...this.#conns].map((c) => ({
        id: c.id,
        principal: c.principal.id,
        maxBuffered: c.outbox.maxBuffered,
        gaps: c.outbox.gaps,
        skipped: c.outbox.skipped,
        lagging: c.outbox.lagging,
        stuckForMs: c.outbox.stuckForMs,
      })),
      runningActions: this.#commands?.running ?? 0,
      auditSuppressed: this.#audit.suppressedTotal,
    };
  }

  /** Resolves once every event so far is committed to the journal (and handed to clients). */
  async flush(): Promise<void> {
    await this.#journal?.flush();
  }

  /**
   * Stops listening and feeding, closes clients with 1001, and commits the journal. In-flight
   * commands finish in the executor; a client resends them with the same key for their result.
   * Idempotent: a second call shares the first one's promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const t of this.#timers) clearInterval(t);
      this.#feed?.stop();
      for (const conn of this.#conns) conn.close(CloseCode.GOING_AWAY, 'agent shutting down');
      const http = this.#http;
      if (http) {
        await new Promise<void>((r) => {
          http.close(() => {
            r();
          });
          http.closeIdleConnections();
          setTimeout(() => {
            http.closeAllConnections();
          }, this.#o.config.closeTimeoutMs).unref();
        });
      }
      await this.#journal?.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(ws: WebSocket, p: Principal): void {
    const journal = this.#journal;
    const snapshots = this.#snapshots;
    if (!journal || !snapshots) return;
    const c = this.#o.config;
    const conn = new Connection(ws, p, {
      config: c,
      clock: this.#clock,
      log: this.#log,
      audit: this.#audit,
      hooks: { snapshot: () => snapshots.get(), seq: () => journal.seq },
      handlers: {
        message: (cn, m) => {
          this.#message(cn, m);
        },
        closed: (cn) => {
          this.#conns.delete(cn);
        },
      },
    });
    this.#conns.add(conn);
    this.#log.info(
      {
        conn: conn.id,
        principal: p.id,
        role: p.role,
        remote: p.remote,
        certFingerprint: p.certFingerprint,
      },
      'stream client connected',
    );
    conn.send({
      v: PROTOCOL_VERSION,
      type: 'hello',
      agentId: this.#o.agent.agentId.slice(0, 128),
      host: hostname().slice(0, 255),
      agentVersion: (this.#o.agentVersion ?? 'unknown').slice(0, 64),
      protocol: { version: PROTOCOL_VERSION, supported: [PROTOCOL_VERSION] },
      capabilities: [...CAPABILITIES],
      epoch: journal.epoch,
      seq: journal.seq,
      principal: { id: p.id, role: p.role },
      actions: COMMAND_ACTIONS.filter((a) => roleAtLeast(p.role, requiredRole(a))),
      limits: {
        maxMessageBytes: c.maxPayloadBytes,
        commandsPerSec: c.limits.commandsPerSec,
        commandBurst: c.limits.commandBurst,
      },
      time: new Date().toISOString(),
    });
  }

  #message(conn: Connection, m: ClientMessage): void {
    switch (m.type) {
      case 'ping':
        conn.send({
          v: PROTOCOL_VERSION,
          type: 'pong',
          ref: m.id ?? null,
          seq: this.#journal?.seq ?? 0,
          time: new Date().toISOString(),
        });
        return;
      case 'subscribe':
        if (conn.outbox.subscribed) {
          conn.reply(
            m.id ?? null,
            ErrorCode.STREAM_STATE,
            'Already subscribed: one per connection',
          );
          return;
        }
        conn.wantsStats = m.stats ?? true;
        this.#subs?.subscribe(conn, m);
        return;
      case 'command':
        this.#commands?.handle(conn, m).catch((err: unknown) => {
          this.#log.error({ err, conn: conn.id }, 'stream command handler failed');
          conn.fail(ErrorCode.STREAM_INTERNAL, 'Internal error', CloseCode.INTERNAL_ERROR, m.id);
        });
        return;
    }
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.#log.error({ err }, 'stream periodic task failed');
      }
    }, ms);
    t.unref();
    this.#timers.push(t);
  }
}
