/**
 * The admin API's read routes: hosts, VMs, health, events (filtered and paged) and metrics.
 * Query parameters are validated (unknown ones refused), so a typo is an answer, not silence.
 */
import { z } from 'zod';
import { ErrorCode } from '../../shared/errors.ts';
import type { Fleet } from '../fleet/fleet.ts';
import { healthView, hostView, vmViews } from '../fleet/views.ts';
import type { AgentLink } from '../link/agent-link.ts';
import type { EventStore, StoredEvent } from '../store/types.ts';
import { ApiError } from './errors.ts';

/** What the read routes see. */
export interface ReadDeps {
  readonly fleet: Fleet;
  readonly links: ReadonlyMap<string, AgentLink>;
  readonly store: EventStore;
  readonly coordinatorId: string;
  readonly startedMs: number;
}

const seqId = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const time = z.iso.datetime().transform((s) => Date.parse(s));

/** Query of `GET /v1/events`. */
export const EventsQuerySchema = z.strictObject({
  host: z.string().min(1).max(128).optional(),
  vm: z.string().min(1).max(256).optional(),
  kind: z.enum(['domain', 'decision', 'health', 'session']).optional(),
  since: time.optional(),
  until: time.optional(),
  after: seqId.optional(),
  before: seqId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** One stored event as the API and the live tail show it. */
export function eventJson(e: StoredEvent) {
  return {
    id: e.id,
    host: e.host,
    epoch: e.epoch,
    seq: e.seq,
    at: e.at,
    receivedAt: new Date(e.receivedMs).toISOString(),
    kind: e.kind,
    uuid: e.uuid,
    name: e.name,
    event: e.event,
  };
}

/** The query string as a plain object (a repeated key is refused). */
export function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (k in out)
      throw new ApiError(400, ErrorCode.COORD_BAD_REQUEST, `Query parameter ${k} given twice`);
    out[k] = v;
  }
  return out;
}

function parseQuery<T extends z.ZodType>(schema: T, url: URL): z.infer<T> {
  const r = schema.safeParse(queryObject(url));
  if (r.success) return r.data;
  const why = r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(query)'}: ${i.message}`)
    .join('; ');
  throw new ApiError(400, ErrorCode.COORD_BAD_REQUEST, `Invalid query: ${why}`);
}

function linkOf(d: ReadDeps, host: string): AgentLink {
  const l = d.links.get(host);
  if (!l) throw new ApiError(404, ErrorCode.COORD_NOT_FOUND, `No host ${host}`);
  return l;
}

const Empty = z.strictObject({});
const HostFilter = z.strictObject({ host: z.string().min(1).max(128).optional() });

/** Answers a GET; null when no route matches. */
export function readRoute(d: ReadDeps, path: string, url: URL): unknown {
  const now = Date.now();
  switch (path) {
    case '/v1/hosts':
      parseQuery(Empty, url);
      return {
        hosts: [...d.fleet.hosts.values()].map((s) => hostView(s, linkOf(d, s.host).info(), now)),
      };
    case '/v1/vms': {
      const q = parseQuery(HostFilter, url);
      const hosts = [...d.fleet.hosts.values()].filter(
        (s) => q.host === undefined || s.host === q.host,
      );
      if (q.host !== undefined && hosts.length === 0)
        throw new ApiError(404, ErrorCode.COORD_NOT_FOUND, `No host ${q.host}`);
      return { vms: hosts.flatMap((s) => vmViews(s)) };
    }
    case '/v1/health': {
      parseQuery(Empty, url);
      const hosts = [...d.fleet.hosts.values()].map((s) =>
        healthView(s, linkOf(d, s.host).info(), now),
      );
      return {
        coordinator: {
          id: d.coordinatorId,
          uptimeMs: now - d.startedMs,
          store: { kind: d.store.kind, ...d.store.stats() },
          hosts: hosts.length,
          reachable: hosts.filter((h) => h.reachable).length,
        },
        hosts,
      };
    }
    case '/v1/events': {
      const q = parseQuery(EventsQuerySchema, url);
      const events = d.store.query({
        limit: q.limit,
        ...(q.host === undefined ? {} : { host: q.host }),
        ...(q.vm === undefined ? {} : { vm: q.vm }),
        ...(q.kind === undefined ? {} : { kind: q.kind }),
        ...(q.since === undefined ? {} : { sinceMs: q.since }),
        ...(q.until === undefined ? {} : { untilMs: q.until }),
        ...(q.after === undefined ? {} : { after: q.after }),
        ...(q.before === undefined ? {} : { before: q.before }),
      });
      return {
        events: events.map(eventJson),
        /** Pass as `after` for the next (newer) page, or `before` for the older one. */
        next: events.at(-1)?.id ?? q.after ?? null,
        prev: events[0]?.id ?? null,
      };
    }
    case '/v1/metrics': {
      parseQuery(Empty, url);
      const cpu = process.cpuUsage();
      return {
        eventLatencyMs: d.fleet.latency.summary(),
        duplicatesSkipped: d.fleet.duplicates,
        storeWriteErrors: d.fleet.writeErrors,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        rssBytes: process.memoryUsage.rss(),
        links: [...d.links.values()].map((l) => ({ host: l.host, state: l.info().state })).length,
      };
    }
    default:
      return null;
  }
}
