/**
 * `GET /v1/watch` (WebSocket): the live tail. After the upgrade (authenticated before it, as
 * every route): a `hello` with every host, the stored events after `?after=ID` (at most 10,000),
 * then each event as it is stored and each host's reachability change. Filters: `host`, `vm`,
 * `kind`. The only message a client sends is `{"type":"ping"}`; anything hostile closes the
 * socket (1007 not JSON, 1008 too deep, a forbidden key, a flood; ws: 1009 too large). A
 * watcher that does not read (over 4 MiB buffered) is closed with 1013: reconnect with `after`.
 */
import { performance } from 'node:perf_hooks';
import type WebSocket from 'ws';
import { z } from 'zod';
import { TokenBucket } from '../../agent/stream/rate-limit.ts';
import { ErrorCode } from '../../shared/errors.ts';
import { CloseCode } from '../../shared/protocol/index.ts';
import type { Fleet } from '../fleet/fleet.ts';
import { hostView } from '../fleet/views.ts';
import type { AgentLink } from '../link/agent-link.ts';
import { matches } from '../store/rows.ts';
import type { EventQuery, EventStore, StoredEvent } from '../store/types.ts';
import type { ApiPrincipal } from './auth.ts';
import { parseJsonObject } from './body.ts';
import { ApiError } from './errors.ts';
import { eventJson, queryObject } from './routes.ts';

const MAX_BUFFERED = 4 * 1024 * 1024;
const MAX_REPLAY = 10_000;

/** Query of `/v1/watch`. */
export const WatchQuerySchema = z.strictObject({
  host: z.string().min(1).max(128).optional(),
  vm: z.string().min(1).max(256).optional(),
  kind: z.enum(['domain', 'decision', 'health', 'session']).optional(),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** Parses the watch query; throws a 400 {@link ApiError}. */
export function watchQuery(url: URL): z.infer<typeof WatchQuerySchema> {
  const r = WatchQuerySchema.safeParse(queryObject(url));
  if (!r.success)
    throw new ApiError(
      400,
      ErrorCode.COORD_BAD_REQUEST,
      `Invalid query: ${r.error.issues[0]?.message ?? ''}`,
    );
  return r.data;
}

/** What the live tail reads. */
export interface WatchDeps {
  readonly fleet: Fleet;
  readonly links: ReadonlyMap<string, AgentLink>;
  readonly store: EventStore;
  /** Largest frame a watcher may send. */
  readonly maxBytes: number;
}

/** Every live watcher. */
export class WatchHub {
  readonly #watchers = new Set<Watcher>();
  readonly #d: WatchDeps;

  constructor(d: WatchDeps) {
    this.#d = d;
    d.fleet.addListener({
      stored: (events) => {
        for (const w of this.#watchers) w.events(events);
      },
      hostChanged: (host) => {
        const s = d.fleet.hosts.get(host);
        const l = d.links.get(host);
        if (!s || !l) return;
        const view = hostView(s, l.info(), Date.now());
        for (const w of this.#watchers) w.send({ type: 'host', ...view });
      },
    });
  }

  get size(): number {
    return this.#watchers.size;
  }

  /** Serves an upgraded socket. */
  add(ws: WebSocket, p: ApiPrincipal, q: z.infer<typeof WatchQuerySchema>): void {
    const filter: EventQuery = {
      limit: MAX_REPLAY,
      ...(q.host === undefined ? {} : { host: q.host }),
      ...(q.vm === undefined ? {} : { vm: q.vm }),
      ...(q.kind === undefined ? {} : { kind: q.kind }),
    };
    const w = new Watcher(ws, filter, this.#d.maxBytes);
    this.#watchers.add(w);
    ws.on('close', () => this.#watchers.delete(w));
    const now = Date.now();
    w.send({
      type: 'hello',
      principal: { id: p.id, role: p.role },
      hosts: [...this.#d.fleet.hosts.values()].flatMap((s) => {
        const l = this.#d.links.get(s.host);
        return l ? [hostView(s, l.info(), now)] : [];
      }),
    });
    if (q.after !== undefined) w.events(this.#d.store.query({ ...filter, after: q.after }));
  }

  /** Closes every watcher (1001). */
  close(): void {
    for (const w of this.#watchers) w.close(CloseCode.GOING_AWAY, 'coordinator stopping');
  }
}

class Watcher {
  readonly #ws: WebSocket;
  readonly #filter: EventQuery;
  readonly #bucket = new TokenBucket(10, 20, () => performance.now());
  #lastId = 0;

  constructor(ws: WebSocket, filter: EventQuery, maxBytes: number) {
    this.#ws = ws;
    this.#filter = filter;
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary) => {
      if (!this.#bucket.take()) {
        this.#fail(ErrorCode.COORD_RATE_LIMITED, 'Message flood', CloseCode.POLICY_VIOLATION);
        return;
      }
      if (isBinary) {
        this.#fail(
          ErrorCode.STREAM_BAD_MESSAGE,
          'Binary frames are not served',
          CloseCode.UNSUPPORTED_DATA,
        );
        return;
      }
      let m: Record<string, unknown>;
      try {
        m = parseJsonObject(data.toString('utf8'), maxBytes);
      } catch (err) {
        const e = err as ApiError;
        const close =
          e.code === ErrorCode.STREAM_BAD_JSON
            ? CloseCode.INVALID_PAYLOAD
            : CloseCode.POLICY_VIOLATION;
        this.#fail(e.code, e.message, close);
        return;
      }
      if (m['type'] === 'ping' && Object.keys(m).every((k) => k === 'type' || k === 'id')) {
        this.send({
          type: 'pong',
          id: typeof m['id'] === 'string' ? m['id'].slice(0, 64) : null,
        });
        return;
      }
      this.send({
        type: 'error',
        code: ErrorCode.COORD_BAD_REQUEST,
        message: 'The only message is {"type":"ping"}',
      });
    });
  }

  events(events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (e.id <= this.#lastId || !matches(e, this.#filter)) continue;
      this.#lastId = e.id;
      this.send({ type: 'event', ...eventJson(e) });
    }
  }

  send(m: Record<string, unknown>): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > MAX_BUFFERED) {
      this.#fail(
        ErrorCode.STREAM_SLOW_CONSUMER,
        'Too slow: reconnect with after=<last id>',
        CloseCode.TRY_AGAIN_LATER,
      );
      return;
    }
    this.#ws.send(JSON.stringify(m));
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  #fail(code: string, message: string, close: number): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(JSON.stringify({ type: 'error', code, message, fatal: true }));
    this.#ws.close(close, code);
  }
}
